"""vSwarm's proxy protocol: `helloworld.Greeter/SayHello` (`invoker/helloworld.proto`).

    HelloRequest { string name = 1; bytes vHiveMetadata = 15; }
    HelloReply   { string message = 1; }

`vHiveMetadata` is UTF-8 JSON `{"WorkflowId": <uuid per endpoint>, "InvocationId": <uuid per
call>, "InvokedOn": <UTC RFC3339, 9 fractional digits>}`. The relay of a vSwarm proxy ignores the
request and ends its reply in its service time in µs: `"<reply> | <µs>"` on the load-generator
branch, `"<reply>|<µs>"` on vSwarm `main`; `service_us` reads both. The call carries no payload.

`invoker emulate` serves this protocol with the generated `helloworld_pb2`. Regenerate it
after editing the .proto with:

    python -m grpc_tools.protoc -I invoker --python_out=invoker invoker/helloworld.proto
"""

import functools
import time

from invoker.protocols import Protocol, new_invocation_id
from invoker.protocols.wire import decode, length_delimited, tag, varint
from loadcore.results import NO_VALUE, STATUS_OK

SAY_HELLO = "/helloworld.Greeter/SayHello"
REQUEST_NAME = "Invoke relay"
_METADATA_TAG = tag(15, 2)


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))


class RequestBuilder:
    """Serialised HelloRequests for one endpoint: the name and WorkflowId are encoded once."""

    def __init__(self, workflow_id: str | None = None):
        self.workflow_id = workflow_id or new_invocation_id()
        self._name_field = length_delimited(1, REQUEST_NAME.encode())
        self._metadata_head = '{"WorkflowId":"%s","InvocationId":"' % self.workflow_id

    def build(self, invocation_id: str, time_ns: int, payload: tuple = ()) -> bytes:
        """The request for one call; `time_ns` (wall clock, `time.time_ns()`) becomes InvokedOn,
        RFC3339 in UTC with nanoseconds (`2026-11-22T03:54:06.000123456Z`)."""
        seconds, nanos = divmod(time_ns, 1_000_000_000)
        metadata = (
            f'{self._metadata_head}{invocation_id}","InvokedOn":"{_utc_second(seconds)}{nanos:09d}Z"}}'
        ).encode()
        return self._name_field + _METADATA_TAG + varint(len(metadata)) + metadata


def reply_message(reply: bytes) -> str:
    """The `message` of a serialised HelloReply ('' when absent); unknown fields are skipped."""
    try:
        message = decode(reply).get(1, b"")
    except ValueError as err:
        raise ValueError(f"HelloReply: {err}") from None
    return message.decode() if isinstance(message, bytes) else ""


def service_us(reply: bytes) -> int | None:
    """The service time in µs ending a serialised HelloReply, or None if it ends in no integer.

    Accepts `"<text> | <µs>"` and `"<text>|<µs>"`. A reply shorter than 128 bytes (every relay
    reply) is read without decoding the protobuf framing.
    """
    if len(reply) > 1 and reply[0] == 0x0A and reply[1] == len(reply) - 2:
        message = reply[2:]
    else:
        message = reply_message(reply).encode()
    _, bar, tail = message.rpartition(b"|")
    if not bar:
        return None
    try:
        value = int(tail)
    except ValueError:
        return None
    return value if value >= 0 else None


class SayHello(Protocol):
    name = "sayhello"
    method = SAY_HELLO

    def request_builder(self, endpoint: str):
        return RequestBuilder().build

    def read_reply(self, reply: bytes) -> tuple[str, str, tuple]:
        service = service_us(reply)
        return STATUS_OK, "", (NO_VALUE if service is None else service, NO_VALUE, NO_VALUE, NO_VALUE)
