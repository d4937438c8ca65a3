"""The trace every layout is read into: a per-function table and the per-unit counts."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.errors import InputError
from loadcore.units import UNIT_US

KEY = ["HashOwner", "HashApp", "HashFunction"]
DURATION_PERCENTILES = (0, 1, 25, 50, 75, 99, 100)
MEMORY_PERCENTILES = (1, 5, 25, 50, 75, 95, 99, 100)
DURATION_COLUMNS = [f"percentile_Average_{p}" for p in DURATION_PERCENTILES]
MEMORY_COLUMNS = [f"AverageAllocatedMb_pct{p}" for p in MEMORY_PERCENTILES]
DURATION_EXTRA = ["Average", "Count", "Minimum", "Maximum"]
MEMORY_EXTRA = ["SampleCount", "AverageAllocatedMb"]

FORMATS = ("azure2019", "invitro2022", "azure2021")
"""Layout names, as `--format` takes them."""

MAX_CALLS_PER_SECOND = 1_000_000
"""The most calls a replay could issue in a second: a hundred invoker processes' worth (one
sends up to ~10,000/s).  A count above it per unit is refused: it could never be replayed,
and its load.json would not fit in memory (3e8 calls in one minute needed over 5 GB)."""


def max_calls(granularity: str) -> int:
    """The most calls one unit (one count cell, or all functions together) may hold."""
    return MAX_CALLS_PER_SECOND * UNIT_US[granularity] // 1_000_000


def over_limit(granularity: str) -> str:
    """Why `max_calls` is the limit, for error messages."""
    return f"more calls in one {granularity} than a replay can issue (at most {MAX_CALLS_PER_SECOND:,} calls/s)"


@dataclass
class Calls:
    """Every call of a per-invocation trace, sorted by start: its function (row of
    `Trace.functions`), its start in µs from the trace's time 0 and its duration in µs."""

    function: np.ndarray
    start_us: np.ndarray
    duration_us: np.ndarray


@dataclass
class Trace:
    """One validated trace, any layout, functions in file order.

    `functions` has `HashOwner, HashApp, HashFunction, Trigger` (empty where the layout has
    none), the duration columns (ms) and the memory columns (MB) named as in the Azure 2019
    files.  `units` labels every count column of the trace; only the columns `first_unit`
    ... `first_unit + counts.shape[1] - 1` were read, and `counts[i, u]` is the number of
    calls of function i in the u-th of them.  `calls` holds the calls of a per-invocation
    trace (Azure 2021), `None` for a trace of counts.
    """

    functions: pd.DataFrame
    counts: np.ndarray
    units: list[str]
    granularity: str
    files: dict[str, Path]
    layout: str
    first_unit: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    calls: Calls | None = None
    day: int | None = None
    memory_day: int | None = None
    constant_memory_mb: float | None = None
    clamped_starts: int = 0

    @property
    def unit_us(self) -> int:
        """Length of one count column in microseconds."""
        return UNIT_US[self.granularity]

    @property
    def source(self) -> Path:
        """The file or folder the trace was read from, for summaries."""
        return self.files["invocations"] if self.layout == "azure2021" else self.files["invocations"].parent

    def duration_ms(self, percentile: int) -> np.ndarray:
        return self.functions[f"percentile_Average_{percentile}"].to_numpy(dtype=np.float64)

    def memory_mb(self, percentile: int) -> np.ndarray:
        return self.functions[f"AverageAllocatedMb_pct{percentile}"].to_numpy(dtype=np.float64)

    def window(self, start: int, warmup: int, duration: int) -> np.ndarray:
        """Counts of the units `start` ... `start + warmup + duration - 1` (warm-up first)."""
        return self.counts_of(Window.of_run(start, warmup, duration))

    def counts_of(self, window: "Window") -> np.ndarray:
        """Counts of the units of `window`, which must be among those read."""
        window.check(self.files["invocations"], len(self.units), self.granularity)
        loaded = self.first_unit + self.counts.shape[1]
        if window.start < self.first_unit or window.end > loaded:
            raise ValueError(f"units {window.start}-{window.end - 1} asked of a trace read for units {self.first_unit}-{loaded - 1}")
        counts = self.counts[:, window.start - self.first_unit : window.end - self.first_unit]
        self.check_totals(counts, window.start)
        return counts

    def check_totals(self, counts: np.ndarray, first_unit: int, scaled: str = "") -> None:
        """Fail when a unit of `counts` (columns from `first_unit`) holds more calls than a replay can issue."""
        totals = counts.sum(axis=0)
        busiest = int(np.argmax(totals)) if totals.size else 0
        if totals.size and totals[busiest] > max_calls(self.granularity):
            raise InputError(
                f"{self.files['invocations']}: count column {self.units[first_unit + busiest]!r} holds "
                f"{int(totals[busiest]):,} calls of all functions together{scaled}, {over_limit(self.granularity)}"
            )

    def calls_of(self, window: "Window") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The calls starting in `window`, sorted by start: their unit in the window, µs offset
        in that unit and function."""
        lo, hi = self._calls_in(window)
        since = self.calls.start_us[lo:hi] - window.start * self.unit_us
        unit, offset = np.divmod(since, self.unit_us)
        return unit, offset, self.calls.function[lo:hi]

    def durations_of(self, window: "Window") -> np.ndarray:
        """The durations (µs) of the calls `calls_of(window)` gives, in its order."""
        lo, hi = self._calls_in(window)
        return self.calls.duration_us[lo:hi]

    def _calls_in(self, window: "Window") -> tuple[int, int]:
        if self.calls is None:
            raise ValueError("a trace of counts has no calls")
        lo, hi = np.searchsorted(self.calls.start_us, [window.start * self.unit_us, window.end * self.unit_us])
        return int(lo), int(hi)

    def notes(self) -> list[str]:
        """What the summary should say about how the trace was read beyond its counts (the
        functions skipped for a missing file are warnings, `skipped`)."""
        notes = []
        if self.day is not None:
            notes.append(f"day {self.day} of the Azure 2019 trace")
        if self.memory_day is not None and self.memory_day != self.day:
            notes.append(f"memory of the apps from day {self.memory_day} (--memory-day)")
        if self.constant_memory_mb is not None:
            notes.append(f"the trace has no memory: {self.constant_memory_mb:g} MB for every function (--memory-mb)")
        if self.clamped_starts:
            notes.append(
                f"{self.clamped_starts:,} calls ended before their duration had passed since the trace start: "
                "their start is clamped to 0"
            )
        return notes


@dataclass(frozen=True)
class Window:
    """Count columns `start` ... `start + length - 1` (0-based), and how the user asked for them."""

    start: int
    length: int
    asked: str

    @classmethod
    def of_run(cls, start: int, warmup: int, duration: int) -> "Window":
        if start < 0 or warmup < 0 or duration < 1:
            raise InputError(
                f"--start {start}, --warmup {warmup}, --duration {duration}: expected start, warmup >= 0 and duration >= 1"
            )
        return cls(start, warmup + duration, f"--start {start} + --warmup {warmup} + --duration {duration}")

    @property
    def end(self) -> int:
        return self.start + self.length

    def check(self, path: Path, units: int, granularity: str) -> None:
        """Fail unless the window lies inside a trace of `units` count columns."""
        if self.end > units:
            raise InputError(
                f"{path}: the window {self.asked} = {self.end} {granularity}s, but the trace has only {units} count columns"
            )
