"""What ties the results of one run together: its start instant and its run id.

A run is one replay of one load.json, by one invoker or by many (shards) on one time axis.
Every worker of a run starts at the same instant (`invoker replay --start-at TIME`, on clocks
assumed NTP-synchronised) and writes the same run id into every row of its results
(`loadcore.results`), so `loadgen report` can tell the shards of one run from two runs.

`--start-at` takes an RFC 3339 time with its zone (`2026-12-03T10:00:00Z`,
`2026-12-03T11:00:00.250+01:00`; up to nanoseconds) or `+SECONDS` from now. A derived run id
is `<start instant, UTC>-<12 hex digits of a hash of what was replayed>`, e.g.
`20261203T100000Z-3f2a9c1b7d4e`: workers that replay the same calls from the same instant
derive the same id without talking to each other, and a second run of the same load.json
gets another one.
"""

import hashlib
import re
from datetime import datetime, timedelta, timezone

from loadcore import names
from loadcore.errors import InputError

NS_PER_S = 1_000_000_000
MAX_LEAD_S = 24 * 3600
"""The furthest ahead a start instant may be: further is taken for a typo (a wrong year)."""
START_AT_FORMS = "an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z) or +SECONDS"
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?"
)
_RELATIVE = re.compile(r"\+(\d+(?:\.\d*)?|\.\d+)")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_start_at(text: str, now_ns: int, min_lead_s: float) -> int:
    """The instant `--start-at TEXT` names, in ns since the Unix epoch (`now_ns`: the wall clock
    now). Malformed text, a time without a zone, and a time less than `min_lead_s` (what the
    caller needs to get ready) or more than `MAX_LEAD_S` ahead of `now_ns` are `InputError`s."""
    relative = _RELATIVE.fullmatch(text)
    if relative:
        ahead = float(relative.group(1))
        instant = _whole_ms(now_ns + round(ahead * NS_PER_S)) if ahead <= MAX_LEAD_S else now_ns
    else:
        instant = _absolute(text)
        ahead = (instant - now_ns) / NS_PER_S
    now = f"now {format_instant(now_ns, 1)}"
    if ahead > MAX_LEAD_S:
        raise InputError(f"--start-at {text!r}: {_duration(ahead)} ahead ({now}); expected at most "
                         f"{_duration(MAX_LEAD_S)} ahead")
    if ahead <= 0:
        raise InputError(f"--start-at {text!r}: {_duration(abs(ahead))} in the past ({now}); expected a time at "
                         f"least {_duration(min_lead_s)} ahead")
    if ahead < min_lead_s:
        raise InputError(f"--start-at {text!r}: only {_duration(ahead)} ahead ({now}); expected at least "
                         f"{_duration(min_lead_s)} ahead, for this invoker to read load.json and connect first")
    return instant


def _whole_ms(ns: int) -> int:
    """A relative start rounded to the millisecond, so that its run id reads well."""
    return ns // 1_000_000 * 1_000_000


def _absolute(text: str) -> int:
    """ns since the epoch of an RFC 3339 time."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise InputError(f"--start-at {text!r}: expected {START_AT_FORMS}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise InputError(f"--start-at {text!r}: no time zone; expected Z for UTC (e.g. {text.strip()}Z) or an "
                         "offset such as +01:00")
    try:
        offset = timedelta(0) if zone in "Zz" else _offset(zone)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone(offset))  # fmt: skip
    except ValueError as err:
        raise InputError(f"--start-at {text!r}: {err}; expected {START_AT_FORMS}") from None
    return (moment - _EPOCH) // timedelta(seconds=1) * NS_PER_S + int((fraction or "").ljust(9, "0"))


def _offset(zone: str) -> timedelta:
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"zone offset {zone} out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if zone[0] == "-" else offset


def _duration(seconds: float) -> str:
    for limit, unit, size in ((90, "s", 1), (90 * 60, "min", 60), (48 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:,.1f} days"


def format_instant(unix_ns: int, digits: int = 6) -> str:
    """RFC 3339 in UTC with `digits` (0-9) digits of the second, e.g. `2026-12-03T10:00:00.000Z`."""
    seconds, ns = divmod(unix_ns, NS_PER_S)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ns:09d}"[: digits + 1] if digits else "") + "Z"


def replay_identity(fingerprint: str, granularity: str, warmup: int, workers: int, split_hot: bool) -> str:
    """What a run replays, as every worker of it (and the master that launches them) can write
    it: the load's calls (`loadcore.loadfile.Load.fingerprint` of the units replayed), how units
    are read, and how the calls are sharded."""
    return f"{fingerprint} {granularity} warmup {warmup} shards {workers}{' split-hot' if split_hot else ''}"


def derive_run_id(start_ns: int, identity: str) -> str:
    """The run id of a run that started at `start_ns` (Unix ns) and replayed what `identity`
    (`replay_identity`) describes."""
    seconds, ns = divmod(start_ns, NS_PER_S)
    stamp = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%S")
    if ns:
        stamp += f".{ns:09d}".rstrip("0")
    return f"{stamp}Z-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


RUN_ID_FORM = "1-128 letters, digits or ._:+- (starting with a letter or digit)"


def is_run_id(text: str) -> bool:
    """True for a run id: a derived one, or one `check_run_id` accepts."""
    return _RUN_ID.fullmatch(text) is not None


def check_run_id(text: str) -> str:
    """A run id given by the user (`--run-id`): letters, digits and `._:+-`, at most 128."""
    if not is_run_id(text):
        raise InputError(f"--run-id {text!r}: expected {RUN_ID_FORM}")
    return text


def check_host_name(text: str) -> str:
    """The name a worker records in the `host` column (`--host-name`): a host name as
    `loadcore.names` checks it, so that it can only ever be shown as itself."""
    if not names.is_host_name(text):
        raise InputError(f"--host-name {text!r}: expected a host name (letters, digits, '-' and '.', at most "
                         f"{names.MAX_HOST_NAME} characters; no scheme, port or spaces)")
    return text
