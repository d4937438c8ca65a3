"""The time unit shared by every stage: a trace count column, a load.json unit and a replay
unit each cover one minute or one second (`--granularity`); and instants on the wall clock as
Unix µs, written and read as RFC 3339 in UTC (a run's t0)."""

from datetime import datetime, timezone
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


def format_unix_us(time_us: int) -> str:
    """Unix µs as RFC 3339 in UTC with µs, e.g. `2026-12-03T17:20:27.123456Z` (`parse_unix_us` reads it back)."""
    seconds, micros = divmod(time_us, 1_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def parse_unix_us(text: str, option: str) -> int:
    """An instant given as RFC 3339 with a time zone (`...Z`, `...+01:00`) or as integer Unix µs."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        instant = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InputError(f"{option} {text!r}: expected RFC 3339 with a time zone (e.g. 2026-12-03T17:20:27.123456Z) "
                         f"or Unix microseconds")
    return int(instant.replace(microsecond=0).timestamp()) * 1_000_000 + instant.microsecond
