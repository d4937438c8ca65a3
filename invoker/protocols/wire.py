"""The protobuf wire format, by hand, for the few tiny messages of the function protocols.

Encoding a request with the generated classes costs several µs a call; these helpers cost about
one. `tests/test_protocol.py` checks every message against the code grpcio-tools generates.
"""

import functools

LENGTH_DELIMITED = 2
VARINT = 0


@functools.lru_cache(maxsize=4096)
def varint(value: int) -> bytes:
    """An unsigned integer as a protobuf varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def length_delimited(field: int, data: bytes) -> bytes:
    """A bytes or string field."""
    return tag(field, LENGTH_DELIMITED) + varint(len(data)) + data


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """The varint at `position` and the position after it."""
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def decode(message: bytes) -> dict[int, bytes | int]:
    """Field number -> value (bytes for length-delimited fields, int for varints; the last one
    wins) of a serialised message; fixed-width fields are skipped."""
    position, end, fields = 0, len(message), {}
    while position < end:
        key, position = read_varint(message, position)
        wire_type = key & 7
        if wire_type == VARINT:
            fields[key >> 3], position = read_varint(message, position)
        elif wire_type == LENGTH_DELIMITED:
            length, position = read_varint(message, position)
            fields[key >> 3] = message[position : position + length]
            position += length
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    if position != end:
        raise ValueError("truncated message")
    return fields
