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

from loadcore import names
from loadcore.errors import InputError
from loadcore.units import INSTANT_FORM, NS_PER_S, format_unix_us, parse_instant_ns

MAX_LEAD_S = 24 * 3600
"""The furthest ahead a start instant may be: further is taken for a typo (a wrong year)."""
START_AT_FORMS = f"{INSTANT_FORM} or +SECONDS"
_RELATIVE = re.compile(r"\+(\d+(?:\.\d*)?|\.\d+)")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}")


def parse_start_at(text: str, now_ns: int, min_lead_s: float) -> int:
    """The instant `--start-at TEXT` names, in ns since the Unix epoch (`now_ns`: the wall clock
    now). Malformed text, a time without a zone, and a time less than `min_lead_s` (what the
    caller needs to get ready) or more than `MAX_LEAD_S` ahead of `now_ns` are `InputError`s."""
    relative = _RELATIVE.fullmatch(text)
    if relative:
        ahead = float(relative.group(1))
        instant = _whole_ms(now_ns + round(ahead * NS_PER_S)) if ahead <= MAX_LEAD_S else now_ns
    else:
        instant = parse_instant_ns(text, "--start-at", START_AT_FORMS)
        ahead = (instant - now_ns) / NS_PER_S
    now = f"now {format_unix_us(now_ns // 1000, 1)}"
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


def _duration(seconds: float) -> str:
    for limit, unit, size in ((90, "s", 1), (90 * 60, "min", 60), (48 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:,.1f} days"


def replay_identity(fingerprint: str, granularity: str, warmup: int, workers: int, split_hot: bool) -> str:
    """What a run replays, as every worker of it (and the master that launches them) can write
    it: the load's calls (`loadcore.loadfile.Load.fingerprint` of the units replayed), how units
    are read, and how the calls are sharded."""
    return f"{fingerprint} {granularity} warmup {warmup} shards {workers}{' split-hot' if split_hot else ''}"


def derive_run_id(start_ns: int, identity: str) -> str:
    """The run id of a run that started at `start_ns` (Unix ns) and replayed what `identity`
    (`replay_identity`) describes."""
    seconds, ns = divmod(start_ns, NS_PER_S)
    stamp = format_unix_us(seconds * 1_000_000, 0)[:-1].replace("-", "").replace(":", "")  # 20261203T100000
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
