"""The time unit shared by every stage: a trace count column, a load.json unit and a replay
unit each cover one minute or one second (`--granularity`); and instants on the wall clock as
Unix µs, written and read as RFC 3339 in UTC (a run's t0)."""

import re
from datetime import datetime, timedelta, timezone
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


NS_PER_S = 1_000_000_000
MAX_UNIX_US = 253_402_300_800 * 1_000_000
"""The first instant of the year 10000, Unix µs: RFC 3339 has four digits for the year."""
INSTANT_FORM = "an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z)"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def format_unix_us(time_us: int, digits: int = 6) -> str:
    """Unix µs as RFC 3339 in UTC with `digits` (0 to 6) digits of the second, e.g.
    `2026-12-03T17:20:27.123456Z` (`parse_instant_ns` reads it back); `time_us` in
    [0, `MAX_UNIX_US`)."""
    seconds, micros = divmod(time_us, 1_000_000)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{micros:06d}"[: digits + 1] if digits else "") + "Z"


def parse_instant_ns(text: str, option: str, forms: str = INSTANT_FORM) -> int:
    """ns since the Unix epoch of an RFC 3339 time with its zone (`Z` or `±HH:MM`; up to 9
    digits of the second). Anything else is an `InputError` naming `option` and saying it
    expected `forms` (what the option takes)."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise InputError(f"{option} {text!r}: expected {forms}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise InputError(f"{option} {text!r}: no time zone; expected Z for UTC (e.g. {text.strip()}Z) or an "
                         "offset such as +01:00")
    try:
        offset = timedelta(0) if zone in "Zz" else _offset(zone)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone(offset))  # fmt: skip
    except (ValueError, OverflowError) as err:
        raise InputError(f"{option} {text!r}: {err}; expected {forms}") from None
    return (moment - _EPOCH) // timedelta(seconds=1) * NS_PER_S + int((fraction or "").ljust(9, "0"))


def _offset(zone: str) -> timedelta:
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"zone offset {zone} out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if zone[0] == "-" else offset


def parse_unix_us(text: str, option: str) -> int:
    """An instant given as RFC 3339 with a time zone (`parse_instant_ns`) or as integer Unix µs."""
    forms = f"{INSTANT_FORM} or Unix microseconds"
    digits = text.strip()
    if not re.fullmatch("[0-9]+", digits):
        return parse_instant_ns(text, option, forms) // 1000
    if len(digits) > 18 or int(digits) >= MAX_UNIX_US:
        raise InputError(f"{option} {text!r}: after the year 9999; expected {forms}")
    return int(digits)
