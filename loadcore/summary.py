"""Typed summaries of results: the measured phase (`PhaseSummary`, what `invoker replay` prints)
and `summary.json` (`Summary`, what `loadgen report` writes), with their writer and reader.

`summary.json` (stable keys; times in integer µs, rates in calls/s, null when unknown):

    {"inputs":   {"results": [path, ...], "load": path|null, "mapping": path|null,
                  "granularity": "minute"|"second", "warmup_units": int, "measured_units": int},
     "files":    [{"path", "rows", "duplicate_rows", "partial_last_line": line|null,
                   "first_unit", "last_unit"}, ...],
     "warnings": [str, ...],
     "measured": {"calls", "ok", "failed", "failures": {status: calls}, "warmup_calls",
                  "scheduled_calls"|null, "issued_fraction"|null, "measured_seconds"|null,
                  "scheduled_rps"|null, "achieved_rps"|null,
                  "latency_us": <distribution>, "latency_from_schedule_us": <distribution>,
                  "send_lag_us": <distribution>, "cold_calls", "warm_calls"},
     "units":    [{"unit", "phase", "issued", "scheduled"|null, "errors",
                   "latency_us": <distribution>, "latency_from_schedule_us": <distribution>,
                   "cold_calls"}, ...],
     "functions": [{"endpoint", "service"|null, "proxy"|null, "calls", "errors",
                    "latency_us": <distribution>, "latency_from_schedule_us": <distribution>,
                    "profiled_duration_us"|null, "slowdown_p50"|null, "slowdown_p99"|null,
                    "kind": "proxy"|"synthetic"|null, "cold_calls", "warm_calls"}, ...],
     "kinds":    [{"kind": "proxy"|"synthetic", "functions", "calls", "ok", "failed",
                   "failures": {status: calls}, "latency_us": <distribution>,
                   "latency_from_schedule_us": <distribution>,
                   "slowdown_p50"|null, "slowdown_p99"|null, "cold_calls", "warm_calls"}, ...],
     "cold_starts": null | {"source": "reported"|"inferred"|"reported and inferred",
                    "reported_calls", "inferred_calls", "cold_calls", "warm_calls", "cold_share"|null,
                    "latency_us": {"cold": <distribution>, "warm": <distribution>},
                    "latency_from_schedule_us": {"cold": <distribution>, "warm": <distribution>},
                    "scaling": path|null, "t0_unix_us"|null,
                    "functions": [{"function", "calls", "cold_calls", "cold_share"|null,
                                   "scale_from_zero"|null, "max_instances"|null}, ...],
                    "scale_from_zero": {"events", "delay_us": <distribution>}|null,
                    "instances": [{"function", "time_s": [...], "ready": [...], "pending": [...]}, ...]},
     "workers":  [{"run_id"|null, "shard"|null, "host"|null, "t0_unix_us"|null, "t0_offset_us"|null,
                   "files": [path, ...], "calls", "errors", "warmup_calls",
                   "send_lag_us": <distribution>, "latency_from_schedule_us": <distribution>}, ...]}

A distribution is `{"p50", "p90", "p99", "p99.9", "p99.99", "max"}` in µs (all null when it
holds no call); `max` is exact, the percentiles are HDR-histogram values (0.1 % precision for
`measured`, 1 % per unit, function and worker). `units` covers every unit seen or scheduled
(warm-up included); `functions` covers the measured phase only, worst p99 latency from
schedule first. `workers` has one entry per invoker run whose rows were merged (the results
columns `run_id`, `shard`, `host`, `t0_unix_us`; null in files written before them, one
entry per such file), by run and shard: its measured calls, errors and send lag, its wall
clock at t0 and `t0_offset_us`, how much later that t0 was than the earliest of its run's.
The slowdown is the latency from schedule divided by the proxy's profiled duration (timed
inside the relay, so it includes the platform's whole overhead: ingress, activator,
queue-proxy, cold starts). For a synthetic function (invitro's trace-func-go) it is each call's
latency from schedule divided by the runtime that call asked for, and its percentiles are those
of these per-call ratios (1 % precision); a synthetic function has no proxy and no profiled
duration. `kinds` breaks the measured phase down into proxies and synthetic functions (the
kinds with calls, proxies first); a kind's slowdown percentiles are those of its calls'
ratios, the proxies' only when the mapping gave their profiled durations.

Cold starts (measured phase, proxies and synthetic functions alike): `cold_calls` paid one,
`warm_calls` did not, the rest are unknown; `measured`, each unit, function and kind count
their own. A call's flag is *reported* when its reply said (the results' `cold` column: `invoker
emulate`, or a function that sends the trailers), else *inferred* from scaling.csv when the
report had one and the run's t0 (`cold_likely`: sent while its function had no ready Pod,
`loadgen.coldstarts`). `cold_starts.functions` lists the functions by Knative Service name,
most cold calls first, with the scale-from-zero events (those that began in the measured
phase when t0 is known, else all of scaling.csv's) and the most instances (ready + pending)
that scaling.csv shows; `instances` holds the scaling.csv series of the functions with
the most cold calls (what the `instances` figure draws), `time_s` from t0 (or from the first
row when t0 is unknown). `Summary.read` also reads files written before a key existed
(`kinds`, `kind`, `cold_starts`, the cold and warm counts, `workers`): it reads as its default.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from loadcore.errors import InputError
from loadcore.files import output_folder, read_input, write_output
from loadcore.histogram import LABELS
from loadcore.stats import CallStats


@dataclass(frozen=True)
class Distribution:
    """Percentiles of one latency distribution in µs (`loadcore.histogram.LABELS`), None when empty."""

    values: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(LABELS))

    def __getitem__(self, label: str) -> int | None:
        return self.values[label]

    def to_json(self) -> dict:
        return dict(self.values)

    @classmethod
    def from_json(cls, document: dict) -> "Distribution":
        return cls({label: document[label] for label in LABELS})


@dataclass(frozen=True)
class PhaseSummary:
    """The measured phase of a run: calls by outcome, rates, and three distributions."""

    calls: int
    ok: int
    failed: int
    failures: dict[str, int]
    warmup_calls: int
    scheduled_calls: int | None
    issued_fraction: float | None
    measured_seconds: float | None
    scheduled_rps: float | None
    achieved_rps: float | None
    latency_us: Distribution
    latency_from_schedule_us: Distribution
    send_lag_us: Distribution
    cold_calls: int = 0
    warm_calls: int = 0

    @classmethod
    def of(cls, stats: CallStats, warmup_calls: int = 0, scheduled_calls: int | None = None,
           measured_seconds: float | None = None) -> "PhaseSummary":
        """The summary of the measured phase's `stats`; the rates need `scheduled_calls`
        (measured units of load.json) and `measured_seconds` (their length) and are None without."""
        calls = stats.calls
        return cls(
            calls=calls,
            ok=stats.ok,
            failed=stats.errors,
            failures=stats.failures(),
            warmup_calls=warmup_calls,
            scheduled_calls=scheduled_calls,
            issued_fraction=calls / scheduled_calls if scheduled_calls else None,
            measured_seconds=measured_seconds,
            scheduled_rps=scheduled_calls / measured_seconds if scheduled_calls is not None and measured_seconds else None,
            achieved_rps=calls / measured_seconds if measured_seconds else None,
            latency_us=Distribution(stats.percentiles("latency_us")),
            latency_from_schedule_us=Distribution(stats.percentiles("latency_from_schedule_us")),
            send_lag_us=Distribution(stats.percentiles("send_lag_us")),
            cold_calls=stats.cold_calls,
            warm_calls=stats.warm_calls,
        )


@dataclass(frozen=True)
class Inputs:
    results: list[str]
    load: str | None
    mapping: str | None
    granularity: str
    warmup_units: int
    measured_units: int


@dataclass(frozen=True)
class FileSummary:
    path: str
    rows: int
    duplicate_rows: int
    partial_last_line: int | None
    first_unit: int | None
    last_unit: int | None


@dataclass(frozen=True)
class UnitSummary:
    unit: int
    phase: str
    issued: int
    scheduled: int | None
    errors: int
    latency_us: Distribution
    latency_from_schedule_us: Distribution
    cold_calls: int = 0


@dataclass(frozen=True)
class FunctionSummary:
    endpoint: str
    service: str | None
    proxy: str | None
    calls: int
    errors: int
    latency_us: Distribution
    latency_from_schedule_us: Distribution
    profiled_duration_us: float | None
    slowdown_p50: float | None
    slowdown_p99: float | None
    kind: str | None = None
    cold_calls: int = 0
    warm_calls: int = 0


@dataclass(frozen=True)
class KindSummary:
    """The measured calls to one kind of function: proxies or synthetic functions."""

    kind: str
    functions: int
    calls: int
    ok: int
    failed: int
    failures: dict[str, int]
    latency_us: Distribution
    latency_from_schedule_us: Distribution
    slowdown_p50: float | None
    slowdown_p99: float | None
    cold_calls: int = 0
    warm_calls: int = 0


@dataclass(frozen=True)
class ColdStartFunction:
    function: str
    calls: int
    cold_calls: int
    cold_share: float | None
    scale_from_zero: int | None
    max_instances: int | None


@dataclass(frozen=True)
class ScaleFromZero:
    events: int
    delay_us: Distribution


@dataclass(frozen=True)
class InstanceSeries:
    function: str
    time_s: list[float]
    ready: list[int]
    pending: list[int]


@dataclass(frozen=True)
class ColdStarts:
    """The cold starts of the measured phase (see the module docstring)."""

    source: str
    reported_calls: int
    inferred_calls: int
    cold_calls: int
    warm_calls: int
    cold_share: float | None
    latency_us: dict[str, Distribution]
    latency_from_schedule_us: dict[str, Distribution]
    scaling: str | None
    t0_unix_us: int | None
    functions: list[ColdStartFunction]
    scale_from_zero: ScaleFromZero | None
    instances: list[InstanceSeries]


@dataclass(frozen=True)
class WorkerSummary:
    run_id: str | None
    shard: str | None
    host: str | None
    t0_unix_us: int | None
    t0_offset_us: int | None
    files: list[str]
    calls: int
    errors: int
    warmup_calls: int
    send_lag_us: Distribution
    latency_from_schedule_us: Distribution


@dataclass(frozen=True)
class Summary:
    """`summary.json` (see the module docstring). Fields added later have defaults, so a file
    written before them still reads."""

    inputs: Inputs
    files: list[FileSummary]
    warnings: list[str]
    measured: PhaseSummary
    units: list[UnitSummary]
    functions: list[FunctionSummary]
    kinds: list[KindSummary] = field(default_factory=list)
    cold_starts: ColdStarts | None = None
    workers: list[WorkerSummary] = field(default_factory=list)

    def to_json(self) -> dict:
        return _to_json(self)

    def write(self, path: Path) -> Path:
        output_folder(Path(path).parent)
        return write_output(path, orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n")

    @classmethod
    def read(cls, path: Path) -> "Summary":
        """Read a `summary.json`; a file that is not one is an `InputError` naming what is wrong."""
        try:
            document = orjson.loads(read_input(path))
        except orjson.JSONDecodeError as err:
            raise InputError(f"{path}: not valid JSON ({err})") from None
        try:
            return _from_json(cls, document)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{path}: not a loadgen summary.json ({err!r})") from None


def _to_json(value):
    if isinstance(value, Distribution):
        return value.to_json()
    if dataclasses.is_dataclass(value):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    return value


def _has_default(field_: dataclasses.Field) -> bool:
    """True for a field a document written before it existed may lack."""
    return field_.default is not dataclasses.MISSING or field_.default_factory is not dataclasses.MISSING


def _from_json(kind, value):
    """`value` (parsed JSON) as an instance of the annotated type `kind`."""
    if kind is Distribution:
        return Distribution.from_json(value)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _from_json(hints[f.name], value[f.name]) for f in dataclasses.fields(kind)
                       if f.name in value or not _has_default(f)})
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return [_from_json(arguments[0], item) for item in value]
    if origin is dict:
        return {key: _from_json(arguments[1], item) for key, item in value.items()}
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        return _from_json(next(a for a in arguments if a is not type(None)), value)
    if kind is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, kind):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value
