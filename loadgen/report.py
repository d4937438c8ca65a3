"""`loadgen report` as a library call: merged results → the typed `summary.json` and figures.

`report()` merges the results files (`loadgen.merge`), reads what load.json scheduled and what
mapping.csv profiled, builds the `loadcore.summary.Summary` (documented there), writes it and
the figures (`loadgen.report_figures`), and returns it; the CLI prints it
(`loadgen.report_tables`). With a scaling.csv (`loadgen observe`, `invoker emulate
--scaling-out`) it adds the instances over time and, placing each call by its worker's t0,
infers the cold starts the replies did not report (`loadgen.coldstarts`). The run's shape is read from the results unless given: the
granularity from the scheduled times, the warm-up from the `phase` column, the measured units
up to the last unit with results. Files of several runs are refused unless `mixed_runs`
(`loadgen.merge`); the workers of a run are checked against each other (t0 apart, shards
missing or doubled) and their breakdown is the summary's `workers`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore import histogram
from loadcore.errors import InputError
from loadcore.files import output_folder
from loadcore.loadfile import read_load
from loadcore.mappingfile import KIND_PROXY, KIND_SYNTHETIC, read_mapping
from loadcore.results import COLD_FALSE, COLD_TRUE, PHASE_MEASURE, PHASE_WARMUP, parse_shard_label
from loadcore.scalingfile import read_scaling
from loadcore.stats import BREAKDOWN_SIGNIFICANT_FIGURES, CallStats
from loadcore.summary import (
    ColdStartFunction,
    ColdStarts,
    Distribution,
    FileSummary,
    FunctionSummary,
    Inputs,
    InstanceSeries,
    KindSummary,
    PhaseSummary,
    ScaleFromZero,
    Summary,
    UnitSummary,
    WorkerSummary,
)
from loadcore.units import UNIT_US, format_unix_us
from loadgen import coldstarts, report_figures
from loadgen.merge import MergedResults, WorkerRead, merge_results

INSTANCE_FUNCTIONS = 6
"""Functions whose instances over time the summary and the `instances` figure show."""
T0_TOLERANCE_MS = 1.0
"""Workers of one run whose t0 differ by more than this are reported: their calls were not
scheduled on one time axis (with one `--start-at` their t0 are the same instant)."""
MAX_UNITS = 100_000
"""The most units a report covers (a day of seconds; 69 days of minutes): each unit with calls
holds its own histograms, and one stray row far out would otherwise make a report of
millions of empty units."""


@dataclass(frozen=True)
class Scheduled:
    """What the load file scheduled: calls per unit, from `loadcore.loadfile.read_load`."""

    path: Path
    calls_per_unit: np.ndarray

    @classmethod
    def from_load(cls, path: Path) -> "Scheduled":
        load = read_load(Path(path))
        return cls(Path(path), np.bincount(load.unit, minlength=load.units))


@dataclass(frozen=True)
class ReportResult:
    summary: Summary
    merged: MergedResults
    written: list[Path]


def report(
    results: list[Path],
    *,
    load: Path | None = None,
    mapping: Path | None = None,
    warmup: int | None = None,
    duration: int | None = None,
    granularity: str | None = None,
    output_dir: Path = Path("report"),
    file_format: str = "png",
    scaling: Path | None = None,
    t0_unix_us: int | None = None,
    on_progress: Callable[[int], None] = lambda done: None,
    mixed_runs: bool = False,
    t0_tolerance_ms: float = T0_TOLERANCE_MS,
) -> ReportResult:
    """Merge `results`, write `output_dir/summary.json` and the figures; `on_progress(bytes read)`.

    `scaling` is a scaling.csv of the run. Each call is placed on its clock by the t0 its row
    records (`t0_unix_us`, its worker's wall clock at t0); `t0_unix_us` given here (Unix µs, as
    `invoker replay` prints it) is used for every row instead, as files from before that column
    need. `mixed_runs` merges files of different runs instead of refusing them."""
    histogram.check()
    if not 0 <= t0_tolerance_ms < math.inf:  # nan compares false: it would silence every t0 warning
        raise InputError(f"--t0-tolerance {t0_tolerance_ms:g}: expected a finite number of milliseconds, 0 or more")
    output_folder(output_dir)  # before the merge, which may take minutes
    rows = MappingRows(read_mapping(mapping)) if mapping else None
    observed = read_scaling(scaling) if scaling is not None else None
    infer = coldstarts.ColdInference(observed, t0_unix_us) if observed is not None else None
    merged = merge_results(results, on_progress, rows.profiled_us if rows else lambda endpoint: None,
                           infer_cold=infer, mixed_runs=mixed_runs)  # fmt: skip
    scheduled = Scheduled.from_load(load) if load else None
    profiles = function_profiles(rows, merged.per_function.entries) if rows else None
    summary = build_summary(
        merged, results=[str(p) for p in results], load=load, mapping=mapping, scheduled=scheduled,
        warmup_units=warmup, measured_units=duration, granularity=granularity, function_profiles=profiles,
        scaling=scaling, observed=observed, t0_unix_us=t0_unix_us, t0_tolerance_ms=t0_tolerance_ms,
    )  # fmt: skip
    written = [summary.write(Path(output_dir) / "summary.json")]
    written += report_figures.write_figures(merged, summary, Path(output_dir), file_format)
    return ReportResult(summary, merged, written)


def warnings(merged: MergedResults, calls_per_unit: np.ndarray | None, load_path: Path | None) -> list[str]:
    """Partial lines, overlapping shards, files missing units, units nobody issued."""
    found = []
    all_units = set().union(*(f.units for f in merged.files)) if merged.files else set()
    for read in merged.files:
        if read.partial_last_line is not None:
            found.append(
                f"{read.path}: line {read.partial_last_line} is an unterminated last line "
                f"(interrupted run?); it was ignored"
            )
        if read.duplicate_rows:
            found.append(
                f"{read.path}: {read.duplicate_rows} row(s) repeat invocation ids already read "
                f"(overlapping shards?); each id was counted once"
            )
        missing = sorted(all_units - read.units)
        if read.units and missing:
            found.append(
                f"{read.path}: no rows for unit(s) {_ranges(missing)} that other files have "
                f"(did this worker stop early?)"
            )
    if calls_per_unit is not None:
        silent = [u for u in np.flatnonzero(calls_per_unit).tolist() if u not in all_units]
        if silent:
            found.append(f"{load_path}: unit(s) {_ranges(silent)} had calls scheduled but no results")
    return found


def worker_warnings(merged: MergedResults, t0_tolerance_ms: float = T0_TOLERANCE_MS) -> list[str]:
    """Runs merged together, and per run: workers whose t0 differ, shards missing or doubled."""
    found = []
    runs = merged.run_ids
    if len(runs) > 1:
        found.append(f"merged {len(runs)} runs ({', '.join(map(_run, runs))}) as --allow-mixed-runs asks: their "
                     "calls add up as if they were one run")
    for run_id in runs:
        workers = [w for w in merged.workers if w.run_id == run_id and parse_shard_label(w.shard)]
        timed = sorted((w for w in workers if w.t0_unix_us is not None), key=lambda w: w.t0_unix_us)
        if timed and timed[-1].t0_unix_us - timed[0].t0_unix_us > t0_tolerance_ms * 1000:
            found.append(
                f"run {_run(run_id)}: t0 differs by {_span(timed[-1].t0_unix_us - timed[0].t0_unix_us)} "
                f"between workers ({_worker(timed[0])} first, {_worker(timed[-1])} last): their schedules are that "
                "far apart; start every shard with one --start-at"
            )
        shards = [parse_shard_label(w.shard) for w in workers]
        counts = sorted({count for _, count in shards})
        if len(counts) > 1:
            found.append(f"run {_run(run_id)}: shards of {' and '.join(map(str, counts))} workers "
                         f"({', '.join(sorted({w.shard for w in workers}))}): the shards do not partition one load")
            continue
        if not counts:
            continue
        missing = sorted(set(range(1, counts[0] + 1)) - {index for index, _ in shards})
        if missing:
            found.append(f"run {_run(run_id)}: no rows from shard(s) {_ranges(missing)} of {counts[0]}: their calls "
                         "are missing, unless those shards had none")
        for index in sorted({index for index, _ in shards}):
            twice = [w for w, (i, _) in zip(workers, shards) if i == index]
            if len(twice) > 1:
                found.append(f"run {_run(run_id)}: shard {index}/{counts[0]} comes from {len(twice)} workers "
                             f"({', '.join(map(_worker, twice))}): the calls of each are counted")
    return found


def _span(us: int) -> str:
    return f"{us / 1000:,.3f} ms" if us < 1_000_000 else f"{us / 1e6:,.3f} s"


def _run(run_id: str) -> str:
    return run_id or "(none)"


def _worker(worker: WorkerRead) -> str:
    t0 = format_unix_us(worker.t0_unix_us, 3) if worker.t0_unix_us is not None else "t0 unknown"
    return f"{worker.label} at {t0}"


def _ranges(numbers: list[int]) -> str:
    """Sorted `[1, 2, 3, 7]` → `1–3, 7`."""
    runs = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def build_summary(
    merged: MergedResults,
    *,
    results: list[str] = (),
    load: Path | None = None,
    mapping: Path | None = None,
    scheduled: Scheduled | None = None,
    warmup_units: int | None = None,
    measured_units: int | None = None,
    granularity: str | None = None,
    function_profiles: pd.DataFrame | None = None,
    scaling: Path | None = None,
    observed: pd.DataFrame | None = None,
    t0_unix_us: int | None = None,
    t0_tolerance_ms: float = T0_TOLERANCE_MS,
) -> Summary:
    """The `summary.json` of `merged` (see `loadcore.summary`).

    The run is taken to be `warmup_units` + `measured_units` units long, as `invoker replay
    --warmup --duration` played it. By default `warmup_units` is one past the last unit
    with warm-up rows, `measured_units` runs to the last unit with results, and
    `granularity` is the one the scheduled times show. `function_profiles` comes from
    `function_profiles()`. `observed` is the scaling.csv at `scaling` (`read_scaling`), and
    `t0_unix_us` the run's t0 when given (`--t0`), else the earliest t0 the rows record.
    """
    granularity = granularity or merged.granularity
    notes = []
    if warmup_units is None:
        warmup_units = merged.last_warmup_unit + 1
    elif warmup_units != merged.last_warmup_unit + 1 and merged.last_warmup_unit >= 0:
        notes.append(
            f"--warmup {warmup_units}, but the results tag units up to {merged.last_warmup_unit} as warm-up; "
            f"the summary follows the results' phase column"
        )
    if function_profiles is not None:
        unmapped = sorted(set(merged.per_function.entries) - set(function_profiles.index))
        if unmapped:
            notes.append(
                f"{mapping}: {len(unmapped)} endpoint(s) of the results are not in it "
                f"(first: {unmapped[0]}); they have no proxy or slowdown"
            )
    if measured_units is None:
        measured_units = max(max(merged.per_unit.entries, default=-1) + 1 - warmup_units, 0)
    units = warmup_units + measured_units
    calls_per_unit = None
    if scheduled is not None:
        calls_per_unit = np.zeros(units, dtype=np.int64)
        known = min(units, scheduled.calls_per_unit.size)
        calls_per_unit[:known] = scheduled.calls_per_unit[:known]
        if scheduled.calls_per_unit.size > units:
            notes.append(
                f"{scheduled.path}: has {scheduled.calls_per_unit.size} units, the run is taken as "
                f"{units} ({warmup_units} warm-up); give --duration if the run was meant to be longer"
            )
    measured_seconds = measured_units * UNIT_US[granularity] / 1e6
    t0_unix_us = t0_unix_us if t0_unix_us is not None else merged.t0_unix_us
    measured_from_us = t0_unix_us + warmup_units * UNIT_US[granularity] if t0_unix_us is not None else None
    cold_starts = _cold_starts(merged, scaling, observed, t0_unix_us, measured_from_us, notes)
    return Summary(
        inputs=Inputs(list(results), _text(load), _text(mapping), granularity, warmup_units, measured_units),
        files=[
            FileSummary(str(f.path), f.rows, f.duplicate_rows, f.partial_last_line,
                        min(f.units) if f.units else None, max(f.units) if f.units else None)
            for f in merged.files
        ],
        warnings=warnings(merged, calls_per_unit, scheduled.path if scheduled else None)
        + worker_warnings(merged, t0_tolerance_ms) + notes,
        measured=PhaseSummary.of(
            merged.measured,
            merged.warmup_calls,
            scheduled_calls=int(calls_per_unit[warmup_units:].sum()) if calls_per_unit is not None else None,
            measured_seconds=measured_seconds or None,
        ),
        units=_units(merged, calls_per_unit, warmup_units, units),
        functions=_functions(merged, function_profiles),
        kinds=_kinds(merged),
        cold_starts=cold_starts,
        workers=_workers(merged),
    )


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _units(merged: MergedResults, calls_per_unit: np.ndarray | None, warmup_units: int, units: int) -> list[UnitSummary]:
    entries = merged.per_unit.entries
    last = max(units, max(entries, default=-1) + 1)
    if last > MAX_UNITS:
        raise InputError(f"the run covers {last:,} units (the results or --warmup + --duration reach unit {last - 1:,}); "
                         f"a report covers at most {MAX_UNITS:,}, a day of seconds")
    empty = Distribution()
    summaries = []
    for unit in range(last):
        stats = entries.get(unit)
        summaries.append(UnitSummary(
            unit=unit,
            phase=PHASE_WARMUP if unit < warmup_units else PHASE_MEASURE,
            issued=stats.calls if stats else 0,
            scheduled=int(calls_per_unit[unit]) if calls_per_unit is not None and unit < units else None,
            errors=stats.errors if stats else 0,
            latency_us=Distribution(stats.percentiles("latency_us")) if stats else empty,
            latency_from_schedule_us=Distribution(stats.percentiles("latency_from_schedule_us")) if stats else empty,
            cold_calls=stats.cold_calls if stats else 0,
        ))
    return summaries


class MappingRows:
    """The mapping.csv row of an endpoint: the row with that `endpoint`, or else the row whose
    `service` is its first DNS label (so results against an emulator or another domain still
    match). `mapping` is a `loadcore.mappingfile.read_mapping` table."""

    def __init__(self, mapping: pd.DataFrame) -> None:
        deployed = mapping[mapping["endpoint"] != ""]
        self.shared = set(deployed["endpoint"][deployed["endpoint"].duplicated()])
        """Endpoints several functions share (`--share-proxies`: one Service per proxy)."""
        self.by_endpoint = deployed.drop_duplicates("endpoint").set_index("endpoint")
        self.by_service = mapping.set_index("service", drop=False)

    def __call__(self, endpoint: str) -> pd.Series | None:
        if endpoint in self.by_endpoint.index:
            return self.by_endpoint.loc[endpoint]
        service = endpoint.split(".", 1)[0]
        return self.by_service.loc[service] if service in self.by_service.index else None

    def profiled_us(self, endpoint: str) -> float | None:
        """A proxy's profiled duration (µs, at the mapping percentile); None for a synthetic
        function (its calls' references are their requested runtimes) or an unknown endpoint."""
        row = self(endpoint)
        return None if row is None or row["kind"] != KIND_PROXY else float(row["proxy_duration_ms"]) * 1000


def function_profiles(rows: MappingRows, endpoints) -> pd.DataFrame:
    """Service, proxy and profiled duration (µs, at the mapping percentile) per endpoint, and its
    kind; a synthetic function has neither proxy nor profiled duration. Unmatched endpoints are
    left out."""
    profiles = {}
    for endpoint in endpoints:
        row = rows(endpoint)
        if row is None:
            continue
        proxy = row["kind"] == KIND_PROXY
        service = endpoint.split(".", 1)[0] if endpoint in rows.shared else row["service"]  # the shared Service's
        profiles[endpoint] = {"service": service, "proxy": row["proxy"] if proxy else None,
                              "profiled_duration_us": rows.profiled_us(endpoint), "kind": row["kind"]}
    return pd.DataFrame.from_dict(profiles, orient="index", columns=["service", "proxy", "profiled_duration_us", "kind"])


def _functions(merged: MergedResults, profiles: pd.DataFrame | None) -> list[FunctionSummary]:
    functions = []
    for endpoint, stats in merged.per_function.items():
        known = profiles is not None and endpoint in profiles.index
        profile = profiles.loc[endpoint] if known else None
        duration = profile["profiled_duration_us"] if known else None
        duration = None if duration is None or duration != duration else float(duration)
        from_schedule = Distribution(stats.percentiles("latency_from_schedule_us"))
        if endpoint in merged.slowdown_by_function:
            ratios = merged.slowdown_by_function.percentiles(endpoint)
            slowdown_p50, slowdown_p99 = ratios["p50"], ratios["p99"]
        elif duration:
            slowdown_p50, slowdown_p99 = from_schedule["p50"] / duration, from_schedule["p99"] / duration
        else:
            slowdown_p50 = slowdown_p99 = None
        proxy = profile["proxy"] if known else None
        functions.append(FunctionSummary(
            endpoint=endpoint,
            service=profile["service"] if known else None,
            proxy=proxy if isinstance(proxy, str) else None,
            calls=stats.calls,
            errors=stats.errors,
            latency_us=Distribution(stats.percentiles("latency_us")),
            latency_from_schedule_us=from_schedule,
            profiled_duration_us=duration,
            slowdown_p50=slowdown_p50,
            slowdown_p99=slowdown_p99,
            kind=merged.kinds.get(endpoint),
            cold_calls=stats.cold_calls,
            warm_calls=stats.warm_calls,
        ))
    functions.sort(key=lambda f: -(f.latency_from_schedule_us["p99"] or 0))
    return functions


def _kinds(merged: MergedResults) -> list[KindSummary]:
    """Proxies, then synthetic functions, each if it had measured calls."""
    kinds = []
    for kind in (KIND_PROXY, KIND_SYNTHETIC):
        if kind not in merged.per_kind:
            continue
        stats = merged.per_kind.entry(kind)
        slowdown = merged.slowdown_by_kind.percentiles(kind)
        kinds.append(KindSummary(
            kind=kind,
            functions=sum(1 for k in merged.kinds.values() if k == kind),
            calls=stats.calls,
            ok=stats.ok,
            failed=stats.errors,
            failures=stats.failures(),
            latency_us=Distribution(stats.percentiles("latency_us")),
            latency_from_schedule_us=Distribution(stats.percentiles("latency_from_schedule_us")),
            slowdown_p50=slowdown["p50"],
            slowdown_p99=slowdown["p99"],
            cold_calls=stats.cold_calls,
            warm_calls=stats.warm_calls,
        ))
    return kinds


def _cold_starts(merged: MergedResults, scaling: Path | None, observed: pd.DataFrame | None, t0_unix_us: int | None,
                 measured_from_us: int | None, notes: list[str]) -> ColdStarts | None:  # fmt: skip
    """The cold starts of the measured phase, when a reply reported one or scaling.csv was given;
    adds to `notes` what kept the inference from working. Scale-from-zero events count from
    `measured_from_us` (the measured phase's start, when t0 is known), else over the whole file."""
    if not (merged.reported_cold or merged.inferred_cold or observed is not None):
        return None
    silent = merged.silent_replies
    if observed is not None and silent:
        if t0_unix_us is None:
            notes.append(f"{scaling}: without the run's t0 (the results predate their t0_unix_us column: give --t0, "
                         f"printed by invoker replay) the {silent:,} calls whose replies did not say cannot be "
                         f"placed on its clock; no cold start inferred")
        elif not merged.inferred_cold:
            first, last = observed["time_us"].min(), observed["time_us"].max()
            span = f"{format_unix_us(int(first), 0)} to {format_unix_us(int(last), 0)}"
            notes.append(f"{scaling}: none of the {silent:,} calls whose replies did not say falls within its rows "
                         f"for their function ({span}); another run's file, or the wrong --t0?")
    sources = [name for name, count in (("reported", merged.reported_cold), ("inferred", merged.inferred_cold)) if count]
    stats = merged.measured
    known = stats.cold_calls + stats.warm_calls
    nothing = CallStats()

    def split(name: str) -> dict[str, Distribution]:
        return {state: Distribution(merged.by_cold.entries.get(flag, nothing).percentiles(name))
                for state, flag in (("cold", COLD_TRUE), ("warm", COLD_FALSE))}  # fmt: skip

    events = coldstarts.scale_from_zero(observed) if observed is not None else None
    if events is not None and measured_from_us is not None:
        events = events[events["start_us"] >= measured_from_us]
    functions = _cold_functions(merged, observed, events)
    scale_from_zero = None
    if events is not None:
        delays = histogram.new_histogram(2)
        histogram.record_values(delays, events["delay_us"].dropna().to_numpy(dtype=np.int64))
        scale_from_zero = ScaleFromZero(len(events), Distribution(histogram.percentiles(delays)))
    return ColdStarts(
        source=" and ".join(sources) or "none",
        reported_calls=merged.reported_cold,
        inferred_calls=merged.inferred_cold,
        cold_calls=stats.cold_calls,
        warm_calls=stats.warm_calls,
        cold_share=stats.cold_calls / known if known else None,
        latency_us=split("latency_us"),
        latency_from_schedule_us=split("latency_from_schedule_us"),
        scaling=_text(scaling),
        t0_unix_us=t0_unix_us,
        functions=functions,
        scale_from_zero=scale_from_zero,
        instances=_instances(observed, functions, t0_unix_us) if observed is not None else [],
    )


def _cold_functions(merged: MergedResults, observed: pd.DataFrame | None, events: pd.DataFrame | None) -> list[ColdStartFunction]:
    """Per Knative Service (endpoints' first label): known and cold calls, and what scaling.csv
    shows of it (its scale-from-zero `events`, its most instances); most cold calls first."""
    calls: dict[str, list[int]] = {}
    for endpoint, stats in merged.per_function.items():
        counts = calls.setdefault(coldstarts.function_of(np.array([endpoint]))[0], [0, 0])
        counts[0] += stats.cold_calls + stats.warm_calls
        counts[1] += stats.cold_calls
    starts, peaks = {}, {}
    if observed is not None:
        starts = events["function"].value_counts().to_dict()
        peaks = (observed["ready"] + observed["pending"]).groupby(observed["function"]).max().to_dict()
        for function in peaks:
            calls.setdefault(function, [0, 0])
    functions = [
        ColdStartFunction(function, known, cold, cold / known if known else None,
                          int(starts.get(function, 0)) if function in peaks else None,
                          int(peaks[function]) if function in peaks else None)
        for function, (known, cold) in calls.items()
    ]  # fmt: skip
    functions.sort(key=lambda f: (-f.cold_calls, -(f.scale_from_zero or 0), f.function))
    return functions


def _instances(observed: pd.DataFrame, functions: list[ColdStartFunction], t0_unix_us: int | None) -> list[InstanceSeries]:
    """scaling.csv's series of the `INSTANCE_FUNCTIONS` functions with the most cold calls, each
    carried on to the file's last row (the counts stay until they change)."""
    origin = t0_unix_us if t0_unix_us is not None else int(observed["time_us"].min())
    end_s = round((int(observed["time_us"].max()) - origin) / 1e6, 6)
    rows = dict(tuple(observed.groupby("function", sort=False)))
    series = []
    for name in [f.function for f in functions if f.function in rows][:INSTANCE_FUNCTIONS]:
        table = rows[name]
        time_s = ((table["time_us"] - origin) / 1e6).round(6).tolist()
        ready, pending = table["ready"].tolist(), table["pending"].tolist()
        if time_s[-1] < end_s:
            time_s, ready, pending = time_s + [end_s], ready + ready[-1:], pending + pending[-1:]
        series.append(InstanceSeries(name, time_s, ready, pending))
    return series


def _workers(merged: MergedResults) -> list[WorkerSummary]:
    """One entry per worker, by run, shard and t0; t0 offsets against the run's earliest."""
    earliest = {}
    for worker in merged.workers:
        if worker.t0_unix_us is not None:
            earliest[worker.run_id] = min(earliest.get(worker.run_id, worker.t0_unix_us), worker.t0_unix_us)
    nothing = CallStats(BREAKDOWN_SIGNIFICANT_FIGURES)
    summaries = []
    for code, worker in enumerate(merged.workers):
        stats = merged.per_worker.entries.get(code, nothing)
        summaries.append(WorkerSummary(
            run_id=worker.run_id or None,
            shard=worker.shard or None,
            host=worker.host or None,
            t0_unix_us=worker.t0_unix_us,
            t0_offset_us=worker.t0_unix_us - earliest[worker.run_id] if worker.t0_unix_us is not None else None,
            files=[str(path) for path in worker.files],
            calls=stats.calls,
            errors=stats.errors,
            warmup_calls=worker.warmup_calls,
            send_lag_us=Distribution(stats.percentiles("send_lag_us")),
            latency_from_schedule_us=Distribution(stats.percentiles("latency_from_schedule_us")),
        ))
    return sorted(summaries, key=_worker_order)


def _worker_order(worker: WorkerSummary) -> tuple:
    index, count = parse_shard_label(worker.shard or "") or (0, 0)
    return worker.run_id or "", count, index, worker.host or "", worker.t0_unix_us or 0, worker.files
