"""Invocation protocols: how a call's request is built, started on a channel, and its reply read.

One object per protocol, registered in `PROTOCOLS` under the name load.json gives the endpoint
(`loadcore.loadfile.Load.protocols`). The dispatcher asks the endpoint's protocol for a
request builder once per endpoint, a starter once per channel, and, per call, builds the
request from the call's payload (its values of `loadcore.loadfile.PAYLOAD_FIELDS`), starts it,
and reads the reply (`read_reply`) or the failure (`failure`). Every call also carries
`endpoint_metadata(endpoint)`: the `x-loadgen-endpoint` header names the target function, so
`invoker emulate` can dispatch even when `:authority` is an address.

Replies may say which instance of the function served the call, and whether the call paid
that instance's cold start, in two trailing-metadata entries of any protocol's reply
(`invoker emulate` sends both on every reply of a function; a real function may send them too):

| key | value |
|---|---|
| `x-loadgen-instance` (`INSTANCE_TRAILER`) | the instance's name, e.g. `aes-go-10-10-3c5f2a1b9e-3` (the emulator: the Service name, then the instance's number) |
| `x-loadgen-cold` (`COLD_TRAILER`) | `true` when the call waited for its instance to start, else `false` |

The invoker writes them to the results' `instance` and `cold` columns (`with_trailers`), over
whatever the protocol read from the reply itself; a reply with neither leaves them as the
protocol read them (vSwarm relays report nothing: both empty; invitro's trace function names
its instance in its reply's message, `invoker.protocols.faas`, and says nothing of cold starts).

Adding a protocol: its module here (a `Protocol` subclass), its handler in the emulator
(`invoker.emulate.HANDLERS`), and one line in `PROTOCOLS`.
"""

from collections.abc import Callable
from random import getrandbits

from invoker import grpc_internals
from loadcore.results import COLD_FALSE, COLD_TRUE, NO_VALUE, REPLY_COLUMNS

ENDPOINT_HEADER = "x-loadgen-endpoint"
INSTANCE_TRAILER = "x-loadgen-instance"
COLD_TRAILER = "x-loadgen-cold"
NO_REPLY = (NO_VALUE,) * len(REPLY_COLUMNS)
"""The reply columns of a call that got no reply."""
_INSTANCE, _COLD = REPLY_COLUMNS.index("instance"), REPLY_COLUMNS.index("cold")

_UUID4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)


def new_invocation_id() -> str:
    """A random UUID4 string, twice as fast as `str(uuid.uuid4())` (unique across processes)."""
    digits = "%032x" % ((getrandbits(128) & _UUID4_MASK) | _UUID4_BITS)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def endpoint_metadata(endpoint: str) -> tuple[tuple[str, str], ...]:
    """Call metadata naming the target endpoint (host, no port); build it once per endpoint."""
    return ((ENDPOINT_HEADER, endpoint),)


def with_trailers(reply: tuple, trailers) -> tuple:
    """`reply` (columns in `REPLY_COLUMNS` order) with the instance and cold start named by the
    reply's trailing metadata, where it names them; `trailers` is a sequence of (key, value)."""
    instance = cold = None
    for key, value in trailers or ():
        if key == INSTANCE_TRAILER:
            instance = value
        elif key == COLD_TRAILER:
            cold = value
    if instance is None and cold is None:
        return reply
    reply = list(reply)
    if instance is not None:
        reply[_INSTANCE] = instance
    if cold is not None:
        reply[_COLD] = COLD_TRUE if cold == COLD_TRUE else COLD_FALSE if cold == COLD_FALSE else NO_VALUE
    return tuple(reply)


class Protocol:
    """A unary gRPC protocol with raw-bytes requests and replies."""

    name: str
    method: str  # the gRPC path, /package.Service/Method

    def request_builder(self, endpoint: str) -> Callable[[str, int, tuple], bytes]:
        """`build(invocation_id, wall_time_ns, payload) -> request bytes` for one endpoint."""
        raise NotImplementedError

    def read_reply(self, reply: bytes) -> tuple[str, str, tuple]:
        """(status, error, reply columns in `REPLY_COLUMNS` order) of a reply gRPC returned OK
        (the dispatcher then applies the reply's trailers, `with_trailers`)."""
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
