"""The open-loop engine of one process: fires every call of a `Schedule` when it is due.

Design (measured in `bench/invoker.py`, reasons in ../shared/docs/invoker-performance.md):
- One dispatcher coroutine walks the sorted due times. It sleeps on the event loop's timer
  until ~1 ms before the next call (timers are only ms-accurate), then spins on zero-delay
  timers and fires every call that is due in one batch; every completion callback also fires
  what has become due. A call is sent when due whatever is still outstanding; when behind,
  calls go out at once and the lag is recorded.
- One channel per endpoint, reused. The endpoint's protocol (`invoker.protocols`) builds each
  request from the call's payload and starts it directly on grpc.aio's Cython channel (the
  public multicallable adds ~30 µs of Python per call, a quarter of the total); its
  completion is a done-callback on the call's one task, never a wrapper task. Driving that coroutine by hand instead of by a Task
  measured worse: with its first step inline the loop saturated at 5k calls/s, with the first
  step scheduled send lag p50 rose ~30 %.
- gRPC runs with the minimal filter stack (`CHANNEL_OPTIONS`) and without the EventEngine
  client endpoint (`invoker/__init__.py`): replies are read on grpc.aio's poller thread, not
  handed between event_engine threads that compete with the loop for its core; together they
  halved send lag p50 and latency p50 at 5-6k calls/s.
- Finished rows, progress and the results file are handled in the dispatcher's slack (when
  the next call is far enough away), so bookkeeping never delays a due call by much.
- The garbage collector is frozen after set-up and paused while the schedule runs.

Times are `time.perf_counter_ns()` relative to t0 (µs in rows; `invoker.clock`); grpc.aio's
loop clock is avoided because uvloop's `loop.time()` has ms resolution.
"""

import asyncio
import gc
import itertools
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import grpc
import numpy as np

from invoker import grpc_internals
from invoker.clock import T0
from invoker.protocols import NO_REPLY, PROTOCOLS, endpoint_metadata, new_invocation_id, with_trailers
from invoker.schedule import Schedule
from loadcore import names
from loadcore.errors import InputError
from loadcore.results import NO_PAYLOAD, NO_VALUE, PHASE_MEASURE, PHASE_WARMUP, STATUS_OK, Provenance, ResultRow
from loadcore.units import check_seconds

TIMER_MARGIN_US = 1_000     # wake from the timer this long before a due call, then spin
SLACK_US = 400              # do bookkeeping only when the next call is at least this far
ROWS_PER_SLICE = 64         # rows handed to the sink per slice of slack
BACKLOG_ROWS = 1024         # ... or without slack once this many rows wait (overload)
MAX_BATCH = 256             # calls fired before the loop gets a turn for completions
MAX_SLEEP_S = 0.05          # longest timer sleep, so a stop request is seen quickly
# Spin through a zero-delay timer, not `sleep(0)`: on uvloop, spinning through the ready queue
# starved gRPC's completions (latency grew to seconds at 5k calls/s), a 0 ms timer does not
# (p50 latency 0.7 ms, send lag p99 0.5 ms at 5k calls/s on the same machine).
SPIN_DELAY_S = 1e-6
SATURATED_TURN_US = 250     # mean spinning loop turn above which the loop is saturated (bench: ~100 µs
                            # when keeping up at 5k calls/s, 250-450 µs when replies pile up)
MIN_SPINS = 1000            # fewer turns say nothing about saturation (a light load)
PROGRESS_EVERY_NS = 200_000_000
STOP_GRACE_S = 2.0          # after a stop request, how long in-flight calls may still finish
CONNECT_WAIT_S = 2.0        # how long to wait for channels to settle before t0

# No transparent retries: every call sent must be exactly one row, and a retry would add load
# the schedule does not have. Without retries and channelz a call costs ~20 % less CPU.
# The minimal filter stack drops filters a replay does not use (message-size limits, idle and
# max-age, service-config): send lag p50 -10 %, latency p50 -12 % at 5-6k calls/s; deadlines
# are still enforced (tests/test_replay.py).
CHANNEL_OPTIONS = [("grpc.enable_retries", 0), ("grpc.enable_channelz", 0), ("grpc.minimal_stack", 1)]
_NEVER = 1 << 62
_HAS_PORT = re.compile(r".*:\d+")


@dataclass(frozen=True)
class Target:
    """Where and how calls go: `--port`, `--ingress`, `--timeout`, `--connection-per-call`."""

    port: int = 80
    ingress: str | None = None
    timeout: float = 30.0
    connection_per_call: bool = False

    @classmethod
    def checked(cls, port: int = 80, ingress: str | None = None, timeout: float = 30.0,
                connection_per_call: bool = False) -> "Target":
        """A target from command-line values, each one checked (`invoker replay`, `loadgen run`)."""
        check_seconds("--timeout", timeout)
        if not names.is_port(str(port)):
            raise InputError(f"--port {port}: expected a TCP port from 1 to 65535")
        if ingress is not None and names.split_address(ingress) is None:
            raise InputError(f"--ingress {ingress!r}: expected HOST:PORT, a host name or IP address (no scheme) "
                             f"and a port from 1 to 65535")
        return cls(port, ingress, timeout, connection_per_call)

    def address(self, endpoint: str) -> str:
        """`host:port` of an endpoint (load.json hosts have no port unless a test gives one)."""
        return endpoint if _HAS_PORT.fullmatch(endpoint) else f"{endpoint}:{self.port}"

    def channel(self, endpoint: str) -> grpc.aio.Channel:
        """A plaintext channel to the endpoint, or to the ingress with the endpoint as :authority."""
        if self.ingress is None:
            return grpc.aio.insecure_channel(self.address(endpoint), options=CHANNEL_OPTIONS)
        options = [*CHANNEL_OPTIONS, ("grpc.default_authority", self.address(endpoint))]
        return grpc.aio.insecure_channel(self.ingress, options=options)


class Reporter:
    """Where finished rows and progress go (the results file, or a parent process)."""

    def rows(self, rows: list[ResultRow]) -> None:
        raise NotImplementedError

    def progress(self, unit: int, issued: int, in_flight: int, errors: int) -> None:
        pass


class Dispatcher:
    """Replays one schedule against a target, reporting one row per issued call."""

    def __init__(self, schedule: Schedule, target: Target, reporter: Reporter,
                 provenance: Provenance = Provenance()) -> None:  # fmt: skip
        """`provenance`: what every row records about the run (its `t0_unix_us` is set at t0)."""
        self.schedule = schedule
        self.target = target
        self.reporter = reporter
        self.provenance = provenance
        self.t0: T0 | None = None
        self.issued = 0
        self.errors = 0
        self.stopped = False
        self._rows: list[ResultRow] = []
        self._in_flight: dict = {}
        self._next_progress_ns = 0
        self._t0_ns = 0
        self._position = 0
        self._next_due_ns = _NEVER
        self._spins = 0
        self._spin_ns = 0
        self._t0_wall_ns = 0
        self._provenance = provenance
        used = np.unique(schedule.endpoint_index).tolist()
        self._protocols = {index: PROTOCOLS[schedule.protocols[index]] for index in used}
        self._builders = {index: self._protocols[index].request_builder(schedule.endpoints[index]) for index in used}
        self._metadata = {index: endpoint_metadata(schedule.endpoints[index]) for index in used}
        self._channels: dict = {}
        self._starters: dict = {}

    def stop(self) -> None:
        """Stop issuing (Ctrl-C, SIGTERM); calls already sent still get their rows."""
        self.stopped = True

    async def run(self, start: Callable[[], T0 | None] | None = None) -> bool:
        """Connect, fire the whole schedule from t0, then wait for the last replies.

        t0 is now, or the instant `start()` returns once connected (`--start-at`, and how
        `--processes` children agree on one t0). When `start()` returns None the run is called
        off before anything was sent, and this returns False.
        """
        await self._connect()
        try:
            t0 = start() if start is not None else None
        except BaseException:
            await self._close()
            raise
        if start is not None and t0 is None:
            await self._close()
            return False
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            self.t0 = t0 or T0.after()
            self._t0_ns = self.t0.perf_ns
            self._t0_wall_ns = self.t0.unix_ns
            self._provenance = self.provenance._replace(t0_unix_us=self.t0.unix_ns // 1000)
            await self._dispatch()
            await self._drain()
        finally:
            gc.enable()
            gc.unfreeze()
            await self._close()
        self._report(len(self._rows))
        self._progress(force=True)
        return True

    async def _connect(self) -> None:
        if self.target.connection_per_call:
            return
        for index, protocol in self._protocols.items():
            channel = self.target.channel(self.schedule.endpoints[index])
            self._channels[index] = channel
            self._starters[index] = protocol.starter(channel)
        waits = [asyncio.ensure_future(_settle(channel)) for channel in self._channels.values()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=min(CONNECT_WAIT_S, self.target.timeout))
            for wait in pending:
                wait.cancel()

    async def _dispatch(self) -> None:
        total = len(self.schedule)
        self._next_due_ns = self._t0_ns + int(self.schedule.due_us[0]) * 1000 if total else 0
        while self._position < total and not self.stopped:
            now_ns = time.perf_counter_ns()
            if self._fire_due(now_ns):
                await self._spin()
                continue
            wait_us = (self._next_due_ns - now_ns) // 1000
            if (wait_us >= SLACK_US or len(self._rows) >= BACKLOG_ROWS) and self._bookkeeping():
                continue
            if wait_us > 2 * TIMER_MARGIN_US:
                await asyncio.sleep(min((wait_us - TIMER_MARGIN_US) / 1e6, MAX_SLEEP_S))
            else:
                await self._spin()

    async def _spin(self) -> None:
        """One turn of the event loop, timed: long turns mean the loop is saturated."""
        started = time.perf_counter_ns()
        await asyncio.sleep(SPIN_DELAY_S)
        self._spin_ns += time.perf_counter_ns() - started
        self._spins += 1

    @property
    def loop_turn_us(self) -> float:
        """Mean length of an event-loop turn while the dispatcher was spinning (µs).

        A few µs to ~100 when the invoker keeps up; beyond `SATURATED_TURN_US` the
        loop is saturated: calls still leave on time, but replies wait to be handled, so
        `latency_us` grows because of the invoker, not the functions.
        """
        return self._spin_ns / self._spins / 1000 if self._spins >= MIN_SPINS else 0.0

    def _fire_due(self, now_ns: int) -> bool:
        """Fire the calls due by `now_ns` (at most MAX_BATCH); False if none was due.

        Called by the dispatcher and after every completion, so a long run of completion
        callbacks does not hold back a due call until the dispatcher's next turn.
        """
        if now_ns < self._next_due_ns or self.stopped:
            return False
        due = self.schedule.due_us
        start = self._position
        if start >= len(due):
            return False
        now_us = (now_ns - self._t0_ns) // 1000
        end = min(int(np.searchsorted(due, now_us, side="right")), start + MAX_BATCH)
        self._fire(start, end)
        self._position = end
        self._next_due_ns = self._t0_ns + int(due[end]) * 1000 if end < len(due) else _NEVER
        return True

    def _fire(self, start: int, end: int) -> None:
        schedule = self.schedule
        units = schedule.unit[start:end].tolist()
        endpoints = schedule.endpoint_index[start:end].tolist()
        dues = schedule.due_us[start:end].tolist()
        payloads = zip(*(values[start:end].tolist() for values in schedule.payload.values())) if schedule.payload \
            else itertools.repeat(())
        timeout = self.target.timeout
        in_flight = self._in_flight
        create_task = asyncio.get_running_loop().create_task
        for unit, endpoint, due, payload in zip(units, endpoints, dues, payloads):
            invocation_id = new_invocation_id()
            sent_ns = time.perf_counter_ns()
            request = self._builders[endpoint](invocation_id, self._t0_wall_ns + sent_ns - self._t0_ns, payload)
            channel = None
            if self.target.connection_per_call:
                channel = self.target.channel(schedule.endpoints[endpoint])
                starter = self._protocols[endpoint].starter(channel)
            else:
                starter = self._starters[endpoint]
            call, reply = starter(request, timeout, self._metadata[endpoint])
            in_flight[call] = (unit, endpoint, due, invocation_id, sent_ns, channel, payload)
            create_task(reply).add_done_callback(partial(self._done, call))
        self.issued += end - start

    def _done(self, call, task: asyncio.Task) -> None:
        """A call finished (reply, error, deadline or cancellation): make its row."""
        end_ns = time.perf_counter_ns()
        info = self._in_flight.pop(call)
        protocol = self._protocols[info[1]]
        reply = NO_REPLY
        if task.cancelled():
            status, error = "CANCELLED", "invoker: call task cancelled"
        elif task.exception() is not None:
            status, error = "INTERNAL", f"invoker: {task.exception()!r}"
        elif call.is_ok():
            try:
                status, error, reply = protocol.read_reply(task.result() or b"")
                reply = with_trailers(reply, grpc_internals.trailing_metadata(call))
            except ValueError as err:
                status, error = "INTERNAL", f"invoker: unreadable reply ({err})"
        else:
            status, error = protocol.failure(call)
        self._row(info, end_ns, status, error, reply)
        channel = info[5]
        if channel is not None:
            asyncio.ensure_future(channel.close())
        if end_ns >= self._next_due_ns:
            self._fire_due(time.perf_counter_ns())

    def _row(self, info: tuple, end_ns: int, status: str, error: str, reply: tuple) -> None:
        unit, endpoint, due, invocation_id, sent_ns, _, payload = info
        t0 = self._t0_ns
        sent_us = (sent_ns - t0) // 1000
        end_us = (end_ns - t0) // 1000
        if status != STATUS_OK:
            self.errors += 1
        self._rows.append(ResultRow(
            unit,
            PHASE_WARMUP if unit < self.schedule.warmup_units else PHASE_MEASURE,
            self.schedule.endpoints[endpoint],
            invocation_id,
            due,
            sent_us,
            sent_us - due,
            end_us - sent_us,
            end_us - due,
            status,
            error,
            *reply,
            *(tuple(value if value >= 0 else NO_VALUE for value in payload) if payload else NO_PAYLOAD),
            *self._provenance,
        ))

    def _bookkeeping(self) -> bool:
        """One slice of slack work; False when there is nothing to do."""
        if self._rows:
            self._report(ROWS_PER_SLICE)
            return True
        return self._progress()

    def _report(self, count: int) -> None:
        rows = self._rows[:count]
        del self._rows[:count]
        self.reporter.rows(rows)

    def _progress(self, force: bool = False) -> bool:
        now = time.perf_counter_ns()
        if now < self._next_progress_ns and not force:
            return False
        self._next_progress_ns = now + PROGRESS_EVERY_NS
        unit = min(max(now - self._t0_ns, 0) // 1000 // self.schedule.unit_us, self.schedule.units)  # 0 before t0
        self.reporter.progress(unit, self.issued, len(self._in_flight), self.errors)
        return True

    async def _drain(self) -> None:
        """Wait for in-flight calls (up to the timeout, or briefly after a stop), then cancel."""
        patience = STOP_GRACE_S if self.stopped else self.target.timeout + 1.0
        deadline = time.perf_counter() + patience
        while self._in_flight and time.perf_counter() < deadline:
            if not self._bookkeeping():
                await asyncio.sleep(0.005)
            if self.stopped and patience > STOP_GRACE_S:
                deadline = min(deadline, time.perf_counter() + STOP_GRACE_S)
                patience = STOP_GRACE_S
        for call in list(self._in_flight):
            call.cancel("invoker stopped before the reply")
        deadline = time.perf_counter() + 1.0
        while self._in_flight and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        end_ns = time.perf_counter_ns()
        for info in self._in_flight.values():
            self._row(info, end_ns, "CANCELLED", "no reply before the invoker exited", NO_REPLY)
        self._in_flight.clear()

    async def _close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self._channels.values()), return_exceptions=True)


async def _settle(channel: grpc.aio.Channel) -> None:
    """Connect a channel until it is ready or has failed (a refused endpoint fails at once)."""
    final = (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN)
    state = channel.get_state(try_to_connect=True)
    while state not in final:
        await channel.wait_for_state_change(state)
        state = channel.get_state(try_to_connect=True)
