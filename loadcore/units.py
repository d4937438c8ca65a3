"""The time unit shared by every stage: a trace count column, a load.json unit and a replay
unit each cover one minute or one second (`--granularity`)."""

from enum import Enum

from loadcore.errors import InputError


class Granularity(str, Enum):
    minute = "minute"
    second = "second"


UNIT_US = {Granularity.minute.value: 60_000_000, Granularity.second.value: 1_000_000}
"""Length of a unit in µs, by granularity name."""

MAX_SECONDS = 86_400.0
"""The longest timeout any option takes (a day): longer ones overflow gRPC's and the socket
layer's deadlines, and `nan`/`inf` are no deadline at all."""


def check_seconds(option: str, seconds: float, maximum: float = MAX_SECONDS) -> float:
    """`seconds` of a timeout option, refused unless a number above 0 and at most `maximum`."""
    if not 0 < seconds <= maximum:  # also refuses nan, which compares false
        raise InputError(f"{option} {seconds:g}: expected a number of seconds above 0 and at most {maximum:g}")
    return seconds
