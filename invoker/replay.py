"""`invoker replay` as a library call: load.json → schedule → dispatchers → results CSV + summary.

The process that writes the results file also feeds every row into the statistics
(`loadcore.stats.CallStats`), so the summary covers exactly the rows on disk, whether the rows
come from a dispatcher in this process or from `--processes` children (`invoker.processes`).
`replay` prints nothing: it returns a `ReplayOutcome` with the measured phase's summary and
the warnings a user should see, and reports progress through a callback.
"""

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from invoker import grpc_internals
from invoker.dispatch import SATURATED_TURN_US, Reporter, Target
from invoker.processes import check_processes, run_children, run_here
from invoker.schedule import Schedule, build_schedule, shard
from loadcore import histogram
from loadcore.files import check_distinct, check_output
from loadcore.loadfile import read_load
from loadcore.results import PHASE_MEASURE, ResultRow, ResultsWriter
from loadcore.stats import CallStats
from loadcore.summary import PhaseSummary

BEHIND_US = 10_000  # a send lag p99 above this is reported as an overloaded invoker


@dataclass(frozen=True)
class ReplayOptions:
    """Everything `invoker replay` takes; the CLI only fills this in."""

    load: Path
    output: Path = Path("latency.csv")
    granularity: str = "minute"
    warmup: int = 2
    duration: int = 20
    target: Target = Target()
    shard: tuple[int, int] | None = None
    processes: int = 1
    vswarm_lat: Path | None = None


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay is: units begun of `units`, calls issued, in flight and failed so far."""

    unit: int
    units: int
    issued: int
    in_flight: int
    errors: int


@dataclass
class ReplayOutcome:
    """What a replay did: the measured-phase summary, rows written (and lost to a write error),
    why it stopped early, the longest mean event-loop turn of its processes
    (`Dispatcher.loop_turn_us`), t0 on the wall clock (Unix µs: a call was sent at
    `t0_unix_us + sent_us`), and warnings for the user."""

    summary: PhaseSummary
    rows_written: int
    rows_lost: int = 0
    signal: int | None = None
    write_error: str | None = None
    loop_turn_us: float = 0.0
    t0_unix_us: int | None = None
    warnings: list[str] = field(default_factory=list)
    worker_failures: tuple[str, ...] = ()
    """What each `--processes` child that died left undone (`invoker.processes.RunResult`)."""


def load_schedule(options: ReplayOptions) -> tuple[Schedule, list[str]]:
    """The calls this invoker issues (the first warm-up + duration units, this worker's
    shard), and a warning when the file is shorter than that."""
    units = options.warmup + options.duration
    load = read_load(options.load, max_units=units)
    schedule = build_schedule(options.load, load, options.granularity, options.warmup, min(units, load.units))
    warnings = []
    if load.units < units:
        warnings.append(f"{options.load} has {load.units} units; replaying all of them "
                        f"({min(options.warmup, load.units)} warm-up) instead of {units}")
    if options.shard is not None:
        schedule = shard(schedule, *options.shard)
    runtime_ms = schedule.payload.get("runtime_ms")
    if runtime_ms is not None:
        hopeless = runtime_ms >= options.target.timeout * 1000
        if hopeless.any():
            warnings.append(f"{int(hopeless.sum()):,} synthetic calls ask for a runtime of --timeout "
                            f"{options.target.timeout:g} s or more (up to {int(runtime_ms.max()) / 1000:g} s): they can "
                            f"only end DEADLINE_EXCEEDED; raise --timeout")
    return schedule, warnings


def replay(options: ReplayOptions, on_progress: Callable[[ReplayProgress], None] | None = None) -> ReplayOutcome:
    """Run a whole replay; rows go to `options.output` as they finish."""
    grpc_internals.check()
    histogram.check()
    check_processes(options.processes)
    check_distinct({"LOAD_JSON": options.load, "--output": options.output, "--vswarm-lat": options.vswarm_lat})
    for path in (options.output, options.vswarm_lat):
        if path is not None:
            check_output(path)
    schedule, warnings = load_schedule(options)
    writer = ResultsWriter(options.output, options.vswarm_lat)
    sink = _FileReporter(writer, schedule.units, on_progress)
    try:
        if options.processes <= 1:
            result = run_here(schedule, options.target, sink)
        else:
            result = run_children(schedule, options.target, options.processes, sink)
    finally:
        writer.close()
    outcome = ReplayOutcome(
        summary=PhaseSummary.of(sink.stats, sink.warmup_calls, schedule.measured_calls, schedule.measured_seconds),
        rows_written=writer.rows_written,
        rows_lost=writer.rows_lost,
        signal=result.signal,
        write_error=writer.error,
        loop_turn_us=result.loop_turn_us,
        t0_unix_us=result.t0_unix_ns // 1000 or None,
        warnings=warnings,
        worker_failures=result.failures,
    )
    lag_p99 = outcome.summary.send_lag_us["p99"]
    if lag_p99 is not None and lag_p99 > BEHIND_US:
        warnings.append(f"send lag p99 {lag_p99 / 1000:,.1f} ms: this invoker could not keep the schedule; "
                        "spread the load (--processes, --shard on more workers) and read latency_from_schedule_us")
    if result.loop_turn_us > SATURATED_TURN_US:
        warnings.append(f"event loop saturated (mean turn {result.loop_turn_us:,.0f} µs): calls left on time but "
                        "replies were handled late, so latency_us includes the invoker's own delay; spread the load "
                        "(--processes, --shard on more workers)")
    return outcome


def stop_message(outcome: ReplayOutcome) -> str | None:
    """What to tell the user when the replay was stopped by a signal."""
    if outcome.signal is None:
        return None
    return (f"stopped by {signal.Signals(outcome.signal).name}: every issued call is in the results, "
            "the rest were not sent")


class _FileReporter(Reporter):
    """Rows into the results file and the measured phase's statistics; progress to the caller."""

    def __init__(self, writer: ResultsWriter, units: int, on_progress) -> None:
        self.writer, self.units, self.on_progress = writer, units, on_progress
        self.stats = CallStats()
        self.warmup_calls = 0

    def rows(self, rows: list[ResultRow]) -> None:
        self.writer.write(rows)
        measured = [row for row in rows if row.phase == PHASE_MEASURE]
        self.warmup_calls += len(rows) - len(measured)
        self.stats.add_rows(measured)

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        if self.on_progress is not None:
            self.on_progress(ReplayProgress(unit, self.units, issued, in_flight, errors))
