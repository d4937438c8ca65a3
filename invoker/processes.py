"""Where dispatchers run: in this process, or in `--processes N` children feeding this one.

With N children the schedule is split call by call (`schedule.split`). Each child is placed on
the cores (`placement`), connects, and reports ready; the parent then gives all of them one
start instant t0 (`invoker.clock.T0`: `perf_counter_ns` is CLOCK_MONOTONIC, the same in every
process), or calls the run off when `--start-at` is too near, and relays their rows, as orjson
messages over a pipe, to one `Reporter` (the results file).
SIGINT, SIGTERM and SIGHUP (`STOP_SIGNALS`; SIGHUP is an ssh session to a worker dropping) to
the parent are forwarded; every child stops issuing, drains and reports, and a child signalled
directly does the same. A child that dies (killed, or failing before it is ready) does not stop
the run: the others go on, every row it sent is kept, and `RunResult.failures` says what it
left undone. This module imports no pandas, so children start quickly.
"""

import asyncio
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable

import orjson
import uvloop

from invoker.clock import START_MARGIN_NS, T0
from invoker.dispatch import Dispatcher, Reporter, Target
from invoker.schedule import Schedule, split
from loadcore.errors import InputError
from loadcore.results import Provenance, ResultRow

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What stops a replay cleanly: Ctrl-C, `kill`, and an ssh session to the worker dropping."""
PROCESSES_PER_CPU = 4
"""--processes allows this many per usable CPU: each process wants a core of its own, and past
a few per core they only compete for it (and each costs ~35 MB at start)."""


@dataclass(frozen=True)
class Placement:
    """Where a child runs: its event-loop thread on `loop_cpu`, the threads gRPC starts (the
    poller that reads every reply among them) on `grpc_cpus`."""

    loop_cpu: int
    grpc_cpus: frozenset[int]


def usable_cpus() -> list[int]:
    """The CPUs this process may run on; none known where the OS has no affinity API (macOS)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def placement(cpus: list[int], processes: int) -> list[Placement | None]:
    """Each child's event loop on a core of its own; gRPC's threads on the cores left over.

    Beside its event loop, gRPC's poller thread competes with it for one core. One child at
    7,000 calls/s: send lag p50 149 µs and latency p50 2.4 ms on one core; 64 µs and 0.8 ms
    with gRPC's threads on another (`bench/invoker.py --one-child`). With no core left over
    each child keeps to its own core, which measured better than pollers roaming onto the
    other loops' cores (`--processes 2` at 12,000/s on 2 cores: send lag p50 127 vs 244 µs).
    Fewer cores than children: no pinning.
    """
    if len(cpus) < processes:
        return [None] * processes
    spare = frozenset(cpus[processes:])
    return [Placement(cpu, spare or frozenset({cpu})) for cpu in cpus[:processes]]


def check_processes(processes: int) -> int:
    """`--processes`, refused beyond `PROCESSES_PER_CPU` per usable CPU of this machine."""
    most = PROCESSES_PER_CPU * max(len(usable_cpus()) or os.cpu_count() or 1, 1)
    if not 1 <= processes <= most:
        raise InputError(f"--processes {processes}: expected 1 to {most} on this machine "
                         f"({PROCESSES_PER_CPU} per usable CPU; each process wants a core of its own)")
    return processes


@dataclass(frozen=True)
class RunResult:
    """How the dispatchers' run went: the signal that stopped it, if any, the longest mean
    event-loop turn of any process (`Dispatcher.loop_turn_us`), t0 (None if the run was called
    off before it), and what each child process that died left undone."""

    signal: int | None
    loop_turn_us: float
    t0: T0 | None = None
    failures: tuple[str, ...] = ()


def run_here(
    schedule: Schedule,
    target: Target,
    reporter: Reporter,
    start: Callable[[], T0 | None] | None = None,
    caught: list | None = None,
    provenance: Provenance = Provenance(),
) -> RunResult:
    """Run a dispatcher in this process on uvloop (`start`, `provenance`: see `Dispatcher`).

    `caught` may already hold a signal that arrived while the process was starting.
    """
    dispatcher = Dispatcher(schedule, target, reporter, provenance)
    caught = [] if caught is None else caught

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _stopper(dispatcher, caught, signum))
        if caught:
            dispatcher.stop()
        await dispatcher.run(start)

    uvloop.run(main())
    return RunResult(caught[0] if caught else None, dispatcher.loop_turn_us, dispatcher.t0)


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
        self.connection.send_bytes(orjson.dumps({"rows": rows}, default=tuple))

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        self.connection.send_bytes(orjson.dumps({"progress": [unit, issued, in_flight, errors]}))


def _child(schedule: Schedule, target: Target, connection, place: Placement | None, provenance: Provenance) -> None:
    """Entry point of a `--processes` child: place, connect, report ready, take t0 (or stop when
    the parent calls the run off), replay, report.

    The threads gRPC starts while connecting inherit `grpc_cpus`; then the event-loop thread
    alone moves to `loop_cpu` (on Linux, `sched_setaffinity(0)` sets the calling thread only).
    """
    if place is not None:
        os.sched_setaffinity(0, place.grpc_cpus)
    early: list[int] = []
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: early.append(signum))

    def start() -> T0 | None:
        if place is not None:
            os.sched_setaffinity(0, {place.loop_cpu})
        connection.send_bytes(orjson.dumps({"ready": True}))
        t0 = orjson.loads(connection.recv_bytes()).get("t0")
        return None if t0 is None else T0(*t0)

    result = run_here(schedule, target, _PipeReporter(connection), start, early, provenance)
    connection.send_bytes(orjson.dumps({"signal": result.signal, "loop_turn_us": result.loop_turn_us}))
    connection.close()


def run_children(
    schedule: Schedule,
    target: Target,
    processes: int,
    sink: Reporter,
    start: Callable[[], T0] | None = None,
    provenance: Provenance = Provenance(),
) -> RunResult:
    """Split the schedule over child processes, relay their rows into `sink`.

    Once every child is ready, `start()` gives their t0 (without it, `START_MARGIN_NS` later);
    when it raises `InputError` (`--start-at` too near) the children are stopped before
    sending anything and the error is raised here.
    """
    places = placement(usable_cpus(), processes)
    context = multiprocessing.get_context("spawn")
    children, connections, parts = [], [], split(schedule, processes)
    for part, place in zip(parts, places):
        ours, theirs = context.Pipe()
        child = context.Process(target=_child, args=(part, target, theirs, place, provenance), daemon=True)
        child.start()
        theirs.close()
        children.append(child)
        connections.append(ours)
    caught: list[int] = []
    previous = {signum: signal.signal(signum, _forwarder(children, caught)) for signum in STOP_SIGNALS}
    late = t0 = None
    try:
        failed = _wait_ready(children, connections)
        if failed is not None:
            for child in children:
                child.kill()  # none has issued a call yet
            return RunResult(None, 0.0, failures=(failed,))
        try:
            t0 = start() if start is not None else T0.after(START_MARGIN_NS)
        except InputError as error:
            late = error
        message = orjson.dumps({"t0": None if t0 is None else [t0.perf_ns, t0.unix_ns]})
        for connection in connections:
            connection.send_bytes(message)
        signals, loop_turn_us, relayed = _relay(connections, sink)
        caught += signals
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for child in children:
            child.join(timeout=5)
    if late is not None:
        raise late
    failures = tuple(_failure(number, child, len(part), relayed[number - 1])
                     for number, (child, part) in enumerate(zip(children, parts), 1) if child.exitcode != 0)
    return RunResult(caught[0] if caught else None, loop_turn_us, t0, failures)


def _wait_ready(children: list, connections: list) -> str | None:
    """Wait until every child is connected and ready; what went wrong if one died first."""
    waiting = dict(zip(connections, children))
    while waiting:
        for connection in wait(list(waiting), timeout=0.5):
            child = waiting.pop(connection)
            try:
                connection.recv_bytes()
            except (EOFError, OSError):
                child.join(timeout=5)
                return (f"invoker replay worker process {children.index(child) + 1} of {len(children)} (pid "
                        f"{child.pid}) {_ended(child)} before it was ready; no call was sent")
    return None


def _ended(child) -> str:
    code = child.exitcode
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _failure(number: int, child, scheduled: int, relayed: tuple[int, int]) -> str:
    """What a child that died mid-run left undone: its rows sent are in the results."""
    rows, issued = relayed
    sent = f" (at least {issued - rows:,} of them had been sent)" if issued > rows else ""
    return (f"invoker replay worker process {number} (pid {child.pid}) {_ended(child)} mid-run: its {rows:,} rows "
            f"are in the results; {scheduled - rows:,} of its {scheduled:,} calls have no row{sent}")


def _forwarder(children: list, caught: list):
    def forward(signum, frame) -> None:
        caught.append(signum)
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    return forward


def _relay(connections: list, sink: Reporter) -> tuple[list[int], float, list[tuple[int, int]]]:
    """Read every child's messages until all have closed their pipe (or died); the signals
    that stopped them, their longest mean loop turn, and per child (rows relayed, calls it
    last reported issued)."""
    caught, loop_turn_us = [], 0.0
    progress = {id(connection): [0, 0, 0, 0] for connection in connections}
    rows = {id(connection): 0 for connection in connections}
    open_connections = list(connections)
    while open_connections:
        for connection in wait(open_connections, timeout=0.5):
            try:
                message = orjson.loads(connection.recv_bytes())
            except (EOFError, OSError):
                open_connections.remove(connection)
                continue
            if "rows" in message:
                sink.rows([ResultRow._make(row) for row in message["rows"]])
                rows[id(connection)] += len(message["rows"])
            elif "progress" in message:
                progress[id(connection)] = message["progress"]
                unit = min(progress[id(c)][0] for c in open_connections)
                totals = [sum(values[k] for values in progress.values()) for k in (1, 2, 3)]
                sink.progress(unit, *totals)
            elif "loop_turn_us" in message:
                loop_turn_us = max(loop_turn_us, message["loop_turn_us"])
                if message["signal"] is not None:
                    caught.append(message["signal"])
    return caught, loop_turn_us, [(rows[id(c)], progress[id(c)][1]) for c in connections]
