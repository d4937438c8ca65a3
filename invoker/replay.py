"""`invoker replay`: load.json → schedule → one or more dispatcher processes → results CSV + summary.

The process that writes the results file also feeds every row into `invoker.stats.ResultStats`,
so the summary covers exactly the rows on disk. With `--processes N` the schedule is split
call by call (`schedule.split`); each child process (pinned to its own core when there are
enough) runs a `Dispatcher` from one shared start instant t0 (CLOCK_MONOTONIC is system-wide)
and streams its rows to the parent through a pipe.
"""

import asyncio
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import orjson
import uvloop
from rich.console import Console
from rich.progress import TextColumn

from invoker.dispatch import Dispatcher, Reporter, Target
from invoker.loadfile import read_load
from invoker.results import COLUMNS, ResultsWriter
from invoker.schedule import Schedule, build_schedule, shard, split
from invoker.stats import ResultStats, render_summary
from loadgen.progress import progress

START_DELAY_NS = 100_000_000  # from "all processes ready" to t0


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
    """What a replay did: the measured-phase summary, rows written, and why it stopped early."""

    summary: dict
    rows_written: int
    signal: int | None = None
    write_error: str | None = None


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
    console = console or Console(stderr=True)
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
                caught = _run_here(schedule, options.target, sink)
            else:
                caught = _run_children(schedule, options.target, options.processes, sink)
    finally:
        writer.close()
    outcome = ReplayOutcome(
        summary=stats.summary(scheduled_calls=schedule.measured_calls, measured_seconds=schedule.measured_seconds),
        rows_written=writer.rows_written,
        signal=caught,
        write_error=writer.error,
    )
    if not options.quiet:
        render_summary(outcome.summary, console)
        console.print(f"{writer.rows_written:,} rows written to {options.output}", soft_wrap=True)
    if writer.error:
        console.print(f"[red]{writer.error}; {writer.rows_lost:,} rows could not be written", soft_wrap=True)
    if caught is not None:
        console.print(f"[red]stopped by {signal.Signals(caught).name}: every issued call is in the results, the rest were not sent", soft_wrap=True)
    return outcome


class _FileReporter(Reporter):
    """Rows into the results file and the statistics; progress onto the bar."""

    def __init__(self, writer: ResultsWriter, stats: ResultStats, bar, task) -> None:
        self.writer, self.stats, self.bar, self.task = writer, stats, bar, task

    def rows(self, rows: list) -> None:
        self.writer.write(rows)
        add = self.stats.add
        for row in rows:
            add(dict(zip(COLUMNS, row)))

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        self.bar.update(self.task, completed=unit, issued=issued, in_flight=in_flight, errors=errors)


def _run_here(schedule: Schedule, target: Target, reporter: Reporter, t0_ns: int | None = None) -> int | None:
    """Run a dispatcher in this process on uvloop; the signal that stopped it, if any."""
    dispatcher = Dispatcher(schedule, target, reporter)
    caught: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _stopper(dispatcher, caught, signum))
        await dispatcher.run(t0_ns)

    uvloop.run(main())
    return caught[0] if caught else None


def _stopper(dispatcher: Dispatcher, caught: list, signum: int):
    def stop() -> None:
        caught.append(signum)
        dispatcher.stop()

    return stop


class _PipeReporter(Reporter):
    """A child's rows and progress, sent to the parent as orjson messages."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def rows(self, rows: list) -> None:
        self.connection.send_bytes(orjson.dumps({"rows": rows}))

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        self.connection.send_bytes(orjson.dumps({"progress": [unit, issued, in_flight, errors]}))


def _child(schedule: Schedule, target: Target, connection, cpu: int | None) -> None:
    """Entry point of a `--processes` child: pin, report ready, take t0, replay, report."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection.send_bytes(orjson.dumps({"ready": True}))
    t0_ns = orjson.loads(connection.recv_bytes())["t0_ns"]
    caught = _run_here(schedule, target, _PipeReporter(connection), t0_ns)
    connection.send_bytes(orjson.dumps({"signal": caught}))
    connection.close()


def _run_children(schedule: Schedule, target: Target, processes: int, sink: _FileReporter) -> int | None:
    """Split the schedule over child processes, relay their rows into `sink`."""
    cpus = sorted(os.sched_getaffinity(0))
    pin = len(cpus) >= processes
    context = multiprocessing.get_context("spawn")
    children, connections = [], []
    for number, part in enumerate(split(schedule, processes)):
        ours, theirs = context.Pipe()
        child = context.Process(
            target=_child, args=(part, target, theirs, cpus[number] if pin else None), daemon=True
        )
        child.start()
        theirs.close()
        children.append(child)
        connections.append(ours)
    caught: list[int] = []
    previous = {signum: signal.signal(signum, _forwarder(children, caught)) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for connection in connections:
            connection.recv_bytes()
        t0 = orjson.dumps({"t0_ns": time.perf_counter_ns() + START_DELAY_NS})
        for connection in connections:
            connection.send_bytes(t0)
        _relay(connections, sink)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for child in children:
            child.join(timeout=5)
    return caught[0] if caught else None


def _forwarder(children: list, caught: list):
    def forward(signum, frame) -> None:
        caught.append(signum)
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    return forward


def _relay(connections: list, sink: _FileReporter) -> None:
    """Read every child's messages until all have closed their pipe."""
    progress = {id(connection): [0, 0, 0, 0] for connection in connections}
    open_connections = list(connections)
    while open_connections:
        for connection in wait(open_connections, timeout=0.5):
            try:
                message = orjson.loads(connection.recv_bytes())
            except (EOFError, OSError):
                open_connections.remove(connection)
                continue
            if "rows" in message:
                sink.rows(message["rows"])
            elif "progress" in message:
                progress[id(connection)] = message["progress"]
                unit = min(values[0] for values in progress.values())
                totals = [sum(values[k] for values in progress.values()) for k in (1, 2, 3)]
                sink.progress(unit, *totals)
    sys.stderr.flush()
