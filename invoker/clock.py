"""The two clocks of a replay, and the start instant t0 on both.

Due times run on `time.perf_counter_ns()`, which is CLOCK_MONOTONIC on Linux: the same in
every process of the machine, never stepped, slewed by NTP like the wall clock. The wall clock
(`time.time_ns()`, CLOCK_REALTIME) only says when t0 is: `--start-at TIME` is converted to the
monotonic clock once, when the invoker is ready, and t0 keeps to that monotonic instant from
then on. That puts the shards of several nodes on one time axis as far as their wall clocks
agree, which is why their clocks must be NTP-synchronised. A step of the wall clock during the
run does not move the schedule; `clock_moved_us` measures it afterwards, and `synchronised`
asks the kernel whether NTP keeps the wall clock.
"""

import ctypes
import ctypes.util
import sys
import time
from dataclasses import dataclass

from loadcore.errors import InputError
from loadcore.units import NS_PER_S, format_unix_us

READS = 5  # clock pairs read to keep the tightest
START_MARGIN_NS = 100_000_000
"""From "every dispatcher is ready" to t0, at least: the t0 message to `--processes` children,
the garbage collector's freeze and the first timer all fit in it."""
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised


def read_clocks() -> tuple[int, int]:
    """(perf_counter_ns, time_ns) at one instant: of a few monotonic-wall-monotonic readings the
    one with the shortest bracket, so a preemption between two reads does not skew the pair."""
    best = None
    for _ in range(READS):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) // 2, wall)
    return best[1], best[2]


@dataclass(frozen=True)
class T0:
    """The start instant on both clocks: `perf_ns` for due times, `unix_ns` for the record."""

    perf_ns: int
    unix_ns: int

    @classmethod
    def after(cls, delay_ns: int = 0) -> "T0":
        """`delay_ns` from now."""
        perf, wall = read_clocks()
        return cls(perf + delay_ns, wall + delay_ns)

    @classmethod
    def at(cls, unix_ns: int, began_ns: int) -> "T0":
        """The instant the wall clock will read `unix_ns` (`--start-at`). If that is less than
        `START_MARGIN_NS` away, it is too late to start on time: an `InputError` that says how
        long this invoker took to get ready since `began_ns` (perf_counter_ns) and so how much
        lead it needs."""
        perf, wall = read_clocks()
        t0 = cls(perf + unix_ns - wall, unix_ns)
        left = (t0.perf_ns - perf) / NS_PER_S
        if left < START_MARGIN_NS / NS_PER_S:
            took = (perf - began_ns) / NS_PER_S
            when = f"{-left:.2f} s after it" if left < 0 else f"only {left:.2f} s before it"
            raise InputError(
                f"--start-at {format_unix_us(unix_ns // 1000, 3)}: this invoker was ready {when}; reading load.json, "
                f"starting and connecting took {took:.1f} s, so it needs at least "
                f"{took + START_MARGIN_NS / NS_PER_S:.1f} s of lead (more on a busy node)"
            )
        return t0


def clock_moved_us(t0: T0) -> int:
    """How far the wall clock was stepped against the monotonic clock since t0 (µs)."""
    perf, wall = read_clocks()
    return ((wall - t0.unix_ns) - (perf - t0.perf_ns)) // 1000


def synchronised() -> bool | None:
    """Whether the kernel says NTP keeps the wall clock (adjtimex(2), read-only); None where
    that cannot be asked (not Linux, no libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        state = libc.adjtimex(ctypes.create_string_buffer(512))  # struct timex, zeroed: modes 0 reads only
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != TIME_ERROR
