"""Invocation protocols: how a call's request is built, started on a channel, and its reply read.

One object per protocol, registered in `PROTOCOLS` under the name load.json gives the endpoint
(`loadcore.loadfile.Load.protocols`). The dispatcher asks the endpoint's protocol for a
request builder once per endpoint, a starter once per channel, and, per call, builds the
request from the call's payload (its values of `loadcore.loadfile.PAYLOAD_FIELDS`), starts it,
and reads the reply (`read_reply`) or the failure (`failure`). Every call also carries
`endpoint_metadata(endpoint)`: the `x-loadgen-endpoint` header names the target function, so
`invoker emulate` can dispatch even when `:authority` is an address.

Adding a protocol: its module here (a `Protocol` subclass), its handler in the emulator
(`invoker.emulate.HANDLERS`), and one line in `PROTOCOLS`.
"""

from collections.abc import Callable
from random import getrandbits

from invoker import grpc_internals
from loadcore.results import NO_VALUE, REPLY_COLUMNS

ENDPOINT_HEADER = "x-loadgen-endpoint"
NO_REPLY = (NO_VALUE,) * len(REPLY_COLUMNS)
"""The reply columns of a call that got no reply."""

_UUID4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)


def new_invocation_id() -> str:
    """A random UUID4 string, twice as fast as `str(uuid.uuid4())` (unique across processes)."""
    digits = "%032x" % ((getrandbits(128) & _UUID4_MASK) | _UUID4_BITS)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def endpoint_metadata(endpoint: str) -> tuple[tuple[str, str], ...]:
    """Call metadata naming the target endpoint (host, no port); build it once per endpoint."""
    return ((ENDPOINT_HEADER, endpoint),)


class Protocol:
    """A unary gRPC protocol with raw-bytes requests and replies."""

    name: str
    method: str  # the gRPC path, /package.Service/Method

    def request_builder(self, endpoint: str) -> Callable[[str, int, tuple], bytes]:
        """`build(invocation_id, wall_time_ns, payload) -> request bytes` for one endpoint."""
        raise NotImplementedError

    def read_reply(self, reply: bytes) -> tuple[str, str, tuple]:
        """(status, error, reply columns in `REPLY_COLUMNS` order) of a reply gRPC returned OK."""
        raise NotImplementedError

    def starter(self, channel):
        """`start(request, timeout, metadata) -> (call, reply coroutine)` on a grpc.aio channel."""
        return grpc_internals.unary_starter(channel, self.method)

    def failure(self, call) -> tuple[str, str]:
        """(status, error) of a started call that did not end OK."""
        return grpc_internals.failure(call)

    def multicallable(self, channel):
        """The method as a public raw-bytes multicallable of a grpc or grpc.aio channel (tests, tools)."""
        return channel.unary_unary(self.method, request_serializer=None, response_deserializer=None)


from invoker.protocols.faas import Faas  # noqa: E402  (subclasses need the base above)
from invoker.protocols.sayhello import SayHello  # noqa: E402

PROTOCOLS: dict[str, Protocol] = {SayHello.name: SayHello(), Faas.name: Faas()}
