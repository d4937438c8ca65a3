"""`invoker replay` as a library call: load.json → schedule → dispatchers → results CSV + summary.

The process that writes the results file also feeds every row into the statistics
(`loadcore.stats.CallStats`), so the summary covers exactly the rows on disk, whether the rows
come from a dispatcher in this process or from `--processes` children (`invoker.processes`).
`replay` prints nothing: it returns a `ReplayOutcome` with the measured phase's summary and
the warnings a user should see, and reports progress through a callback.

Every row records the run it belongs to (`loadcore.results.PROVENANCE_COLUMNS`): the run id
(`--run-id`, or derived from what is replayed and the start instant: `--start-at`, else the
moment this replay began), the shard, the host and the wall clock at t0.
"""

import functools
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from invoker import clock, grpc_internals
from invoker.clock import T0
from invoker.dispatch import CONNECT_WAIT_S, SATURATED_TURN_US, Reporter, Target
from invoker.processes import check_processes, run_children, run_here
from invoker.schedule import Schedule, build_schedule
from loadcore import histogram
from loadcore.files import check_distinct, check_output
from loadcore.loadfile import read_load
from loadcore.results import PHASE_MEASURE, Provenance, ResultRow, ResultsWriter
from loadcore.runs import derive_run_id, replay_identity
from loadcore.shards import plan_shards
from loadcore.stats import CallStats
from loadcore.summary import PhaseSummary

BEHIND_US = 10_000  # a send lag p99 above this is reported as an overloaded invoker
MIN_LEAD_S = CONNECT_WAIT_S + 1.0
"""The least `--start-at` lead accepted up front: connecting, plus reading load.json and the
start margin; a slower start is caught when the invoker is ready (`invoker.clock.T0.at`)."""
CLOCK_STEP_US = 1_000  # a wall-clock step during the run larger than this is reported


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
    split_hot: bool = False
    processes: int = 1
    vswarm_lat: Path | None = None
    start_at: int | None = None
    """t0 as Unix ns (`--start-at`, `loadcore.runs.parse_start_at`); None: as soon as connected."""
    run_id: str | None = None
    host_name: str | None = None


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
    (`Dispatcher.loop_turn_us`), what its rows record about the run (`provenance`, with t0 on
    the wall clock), the calls of every shard (one entry when not sharded), and warnings for
    the user."""

    summary: PhaseSummary
    rows_written: int
    rows_lost: int = 0
    signal: int | None = None
    write_error: str | None = None
    loop_turn_us: float = 0.0
    warnings: list[str] = field(default_factory=list)
    worker_failures: tuple[str, ...] = ()
    """What each `--processes` child that died left undone (`invoker.processes.RunResult`)."""
    provenance: Provenance = Provenance()
    shard_calls: tuple[int, ...] = ()

    @property
    def t0_unix_us(self) -> int | None:
        """t0 on the wall clock (Unix µs: a call was sent at `t0_unix_us + sent_us`); None if
        the run never reached it."""
        return self.provenance.t0_unix_us or None


@dataclass(frozen=True)
class Share:
    """This invoker's calls (`schedule`), the calls of every shard, what the run replays as a
    whole (`identity`, the same text on every worker of the run), and warnings."""

    schedule: Schedule
    shard_calls: tuple[int, ...]
    identity: str
    warnings: list[str]


def load_schedule(options: ReplayOptions) -> Share:
    """The calls this invoker issues: the first warm-up + duration units, this worker's shard
    (`loadcore.shards`), with a warning when the file is shorter or the shards are unbalanced."""
    units = options.warmup + options.duration
    load = read_load(options.load, max_units=units)
    workers = options.shard[1] if options.shard else 1
    identity = replay_identity(load.fingerprint(), options.granularity, options.warmup, workers, options.split_hot)
    warnings = []
    if load.units < units:
        warnings.append(f"{options.load} has {load.units} units; replaying all of them "
                        f"({min(options.warmup, load.units)} warm-up) instead of {units}")
    shard_calls = (len(load.unit),)
    if options.shard is not None:
        plan = plan_shards(load, workers, options.split_hot)
        load = load.select(plan.call_shard == options.shard[0] - 1)
        shard_calls = tuple(plan.shard_calls.tolist())
        if (note := plan.imbalance()) is not None:
            warnings.append(note)
    schedule = build_schedule(options.load, load, options.granularity, options.warmup, min(units, load.units))
    runtime_ms = schedule.payload.get("runtime_ms")
    if runtime_ms is not None:
        hopeless = runtime_ms >= options.target.timeout * 1000
        if hopeless.any():
            warnings.append(f"{int(hopeless.sum()):,} synthetic calls ask for a runtime of --timeout "
                            f"{options.target.timeout:g} s or more (up to {int(runtime_ms.max()) / 1000:g} s): they can "
                            f"only end DEADLINE_EXCEEDED; raise --timeout")
    return Share(schedule, shard_calls, identity, warnings)


def replay(options: ReplayOptions, on_progress: Callable[[ReplayProgress], None] | None = None) -> ReplayOutcome:
    """Run a whole replay; rows go to `options.output` as they finish."""
    began_ns, began_unix_ns = clock.read_clocks()
    grpc_internals.check()
    histogram.check()
    check_processes(options.processes)
    check_distinct({"LOAD_JSON": options.load, "--output": options.output, "--vswarm-lat": options.vswarm_lat})
    for path in (options.output, options.vswarm_lat):
        if path is not None:
            check_output(path)
    share = load_schedule(options)
    schedule, warnings = share.schedule, share.warnings
    start_ns = began_unix_ns // 1000 * 1000 if options.start_at is None else options.start_at  # µs read well
    provenance = Provenance(
        run_id=options.run_id or derive_run_id(start_ns, share.identity),
        shard="{}/{}".format(*(options.shard or (1, 1))),
        host=options.host_name or socket.gethostname(),
    )
    if options.start_at is not None and clock.synchronised() is False:
        warnings.append("the kernel says this worker's wall clock is not NTP-synchronised: --start-at is only "
                        "one instant across workers whose clocks agree")
    writer = ResultsWriter(options.output, options.vswarm_lat)
    sink = _FileReporter(writer, schedule.units, on_progress)
    start = None if options.start_at is None else functools.partial(T0.at, options.start_at, began_ns)
    try:
        if options.processes <= 1:
            result = run_here(schedule, options.target, sink, start, provenance=provenance)
        else:
            result = run_children(schedule, options.target, options.processes, sink, start, provenance)
    finally:
        writer.close()
    moved_us = clock.clock_moved_us(result.t0) if result.t0 is not None else 0
    if abs(moved_us) > CLOCK_STEP_US:
        warnings.append(f"the wall clock was stepped by {moved_us / 1000:+,.1f} ms during the run: its reading at "
                        "t0 (t0_unix_us) was off by as much, and so was this worker's t0 against other workers' "
                        "(is NTP synchronised?)")
    outcome = ReplayOutcome(
        summary=PhaseSummary.of(sink.stats, sink.warmup_calls, schedule.measured_calls, schedule.measured_seconds),
        rows_written=writer.rows_written,
        rows_lost=writer.rows_lost,
        signal=result.signal,
        write_error=writer.error,
        loop_turn_us=result.loop_turn_us,
        warnings=warnings,
        worker_failures=result.failures,
        provenance=provenance._replace(t0_unix_us=result.t0.unix_ns // 1000 if result.t0 else 0),
        shard_calls=share.shard_calls,
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
