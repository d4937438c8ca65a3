"""The vSwarm proxy protocol on the invoker's hot path: `helloworld.Greeter/SayHello` as raw bytes.

The wire format is `invoker/helloworld.proto` (plaintext HTTP/2, one unary method):

    HelloRequest { string name = 1; bytes vHiveMetadata = 15; }
    HelloReply   { string message = 1; }

`vHiveMetadata` is UTF-8 JSON `{"WorkflowId": <uuid per endpoint>, "InvocationId": <uuid per
call>, "InvokedOn": <UTC RFC3339, 9 fractional digits>}`. The relay of a vSwarm proxy ignores the
request and ends its reply in its service time in µs: `"<reply> | <µs>"` on the load-generator
branch, `"<reply>|<µs>"` on vSwarm `main`; `service_us` reads both.

This module encodes and decodes those two tiny messages by hand (no protobuf import, ~1 µs a
request) so a replayer can call the method with a raw-bytes multicallable:

    call = say_hello(channel)                       # grpc or grpc.aio channel, made once
    requests = RequestBuilder()                     # one per endpoint (its WorkflowId)
    reply = await call(requests.build(new_invocation_id(), time.time_ns()),
                       metadata=endpoint_metadata(endpoint), timeout=...)
    service_us(reply)                               # -> int µs, or None

Every call should carry `endpoint_metadata(endpoint)`: the `x-loadgen-endpoint` header names the
target function, so `invoker emulate` can dispatch even when `:authority` is an address.
`tests/test_protocol.py` checks these bytes against the generated `helloworld_pb2`, which
`invoker emulate` uses. Regenerate it after editing the .proto with:

    python -m grpc_tools.protoc -I invoker --python_out=invoker invoker/helloworld.proto
"""

import functools
import time
from random import getrandbits

SAY_HELLO = "/helloworld.Greeter/SayHello"
ENDPOINT_HEADER = "x-loadgen-endpoint"
REQUEST_NAME = "Invoke relay"

_NAME_TAG = b"\x0a"  # field 1 (name), length-delimited
_METADATA_TAG = b"\x7a"  # field 15, length-delimited
_UUID4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)


def say_hello(channel):
    """The SayHello multicallable of a grpc or grpc.aio channel, taking and returning raw bytes."""
    return channel.unary_unary(SAY_HELLO, request_serializer=None, response_deserializer=None)


def endpoint_metadata(endpoint: str) -> tuple[tuple[str, str], ...]:
    """Call metadata naming the target endpoint (host, no port); build it once per endpoint."""
    return ((ENDPOINT_HEADER, endpoint),)


def new_invocation_id() -> str:
    """A random UUID4 string, twice as fast as `str(uuid.uuid4())` (unique across processes)."""
    digits = "%032x" % ((getrandbits(128) & _UUID4_MASK) | _UUID4_BITS)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))


@functools.lru_cache(maxsize=64)
def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class RequestBuilder:
    """Serialised HelloRequests for one endpoint: the name and WorkflowId are encoded once."""

    def __init__(self, workflow_id: str | None = None):
        self.workflow_id = workflow_id or new_invocation_id()
        name = REQUEST_NAME.encode()
        self._name_field = _NAME_TAG + _varint(len(name)) + name
        self._metadata_head = '{"WorkflowId":"%s","InvocationId":"' % self.workflow_id

    def build(self, invocation_id: str, time_ns: int) -> bytes:
        """The request for one call; `time_ns` (wall clock, `time.time_ns()`) becomes InvokedOn,
        RFC3339 in UTC with nanoseconds (`2026-11-22T03:54:06.000123456Z`)."""
        seconds, nanos = divmod(time_ns, 1_000_000_000)
        metadata = (
            f'{self._metadata_head}{invocation_id}","InvokedOn":"{_utc_second(seconds)}{nanos:09d}Z"}}'
        ).encode()
        return self._name_field + _METADATA_TAG + _varint(len(metadata)) + metadata


def reply_message(reply: bytes) -> str:
    """The `message` of a serialised HelloReply ('' when absent); unknown fields are skipped."""
    position, end, message = 0, len(reply), b""
    while position < end:
        key, position = _read_varint(reply, position)
        wire_type = key & 7
        if wire_type == 0:
            _, position = _read_varint(reply, position)
        elif wire_type == 2:
            length, position = _read_varint(reply, position)
            if key >> 3 == 1:
                message = reply[position : position + length]
            position += length
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"HelloReply: unsupported wire type {wire_type}")
    if position != end:
        raise ValueError("HelloReply: truncated")
    return message.decode()


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("HelloReply: truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


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
