"""`invoker replay`: load.json → schedule → one or more dispatcher processes → results CSV + summary.

The process that writes the results file also feeds every row into `invoker.stats.ResultStats`,
so the summary covers exactly the rows on disk, whether the rows come from a dispatcher in this
process or from `--processes` children (`invoker.processes`).
"""

import signal
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import TextColumn

from invoker.dispatch import SATURATED_TURN_US, Reporter, Target
from invoker.loadfile import read_load
from invoker.processes import run_children, run_here
from invoker.results import ResultsWriter
from invoker.schedule import Schedule, build_schedule, shard
from invoker.stats import ResultStats, render_summary
from loadcore.console import progress, summary_console

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
    quiet: bool = False


@dataclass
class ReplayOutcome:
    """What a replay did: the measured-phase summary, rows written, why it stopped early, and
    the longest mean event-loop turn of its processes (`Dispatcher.loop_turn_us`)."""

    summary: dict
    rows_written: int
    signal: int | None = None
    write_error: str | None = None
    loop_turn_us: float = 0.0


def load_schedule(options: ReplayOptions, console: Console) -> Schedule:
    """The calls this invoker issues: the first warm-up + duration units, this worker's shard."""
    units = options.warmup + options.duration
    load = read_load(options.load, max_units=units)
    schedule = build_schedule(options.load, load, options.granularity, options.warmup, min(units, load.units))
    if load.units < units:
        console.print(
            f"[yellow]{options.load} has {load.units} units; replaying all of them "
            f"({min(options.warmup, load.units)} warm-up) instead of {units}",
            soft_wrap=True,
        )
    if options.shard is not None:
        schedule = shard(schedule, *options.shard)
    return schedule


def replay(options: ReplayOptions, console: Console | None = None) -> ReplayOutcome:
    """Run a whole replay; rows go to `options.output` as they finish, the summary to `console`."""
    console = console or summary_console(stderr=True)
    schedule = load_schedule(options, console)
    writer = ResultsWriter(options.output, options.vswarm_lat)
    stats = ResultStats()
    columns = (
        TextColumn("{task.fields[issued]:,} issued"),
        TextColumn("{task.fields[in_flight]:,} in flight"),
        TextColumn("{task.fields[errors]:,} errors"),
    )
    bar = progress(*columns, enabled=not options.quiet)
    try:
        with bar:
            task = bar.add_task("units", total=schedule.units, issued=0, in_flight=0, errors=0)
            sink = _FileReporter(writer, stats, bar, task)
            if options.processes <= 1:
                result = run_here(schedule, options.target, sink)
            else:
                result = run_children(schedule, options.target, options.processes, sink)
    finally:
        writer.close()
    outcome = ReplayOutcome(
        summary=stats.summary(scheduled_calls=schedule.measured_calls, measured_seconds=schedule.measured_seconds),
        rows_written=writer.rows_written,
        signal=result.signal,
        write_error=writer.error,
        loop_turn_us=result.loop_turn_us,
    )
    if not options.quiet:
        render_summary(outcome.summary, console)
        console.print(f"{writer.rows_written:,} rows written to {options.output}", soft_wrap=True)
    lag_p99 = outcome.summary["send_lag_us"]["p99"]
    if lag_p99 is not None and lag_p99 > BEHIND_US:
        console.print(
            f"[yellow]send lag p99 {lag_p99 / 1000:,.1f} ms: this invoker could not keep the schedule; "
            "spread the load (--processes, --shard on more workers) and read latency_from_schedule_us",
            soft_wrap=True,
        )
    if result.loop_turn_us > SATURATED_TURN_US:
        console.print(
            f"[yellow]event loop saturated (mean turn {result.loop_turn_us:,.0f} µs): calls left on time but "
            "replies were handled late, so latency_us includes the invoker's own delay; spread the load "
            "(--processes, --shard on more workers)",
            soft_wrap=True,
        )
    if writer.error:
        console.print(f"[red]{writer.error}; {writer.rows_lost:,} rows could not be written", soft_wrap=True)
    if result.signal is not None:
        console.print(
            f"[red]stopped by {signal.Signals(result.signal).name}: every issued call is in the results, "
            "the rest were not sent",
            soft_wrap=True,
        )
    return outcome


class _FileReporter(Reporter):
    """Rows into the results file and the statistics; progress onto the bar."""

    def __init__(self, writer: ResultsWriter, stats: ResultStats, bar, task) -> None:
        self.writer, self.stats, self.bar, self.task = writer, stats, bar, task

    def rows(self, rows: list) -> None:
        self.writer.write(rows)
        self.stats.add_rows(rows)

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        self.bar.update(self.task, completed=unit, issued=issued, in_flight=in_flight, errors=errors)
