"""Mergeable, bounded-memory statistics of invoker results.

One implementation serves the invoker's end-of-run summary and `loadgen report`: both feed
results rows (the columns of `invoker.results`) into a `ResultStats`, merge the objects of
several processes or workers with `merge`, and print `summary()` with `render_summary`.

Latencies go into HDR histograms (the `hdrhistogram` package): 3 significant figures (0.1 %)
for the run as a whole, 2 (1 %) for the per-endpoint and per-unit breakdowns of `Breakdown`.
Memory depends on the number of histograms, never on the number of rows. Values are µs;
a negative value (a call sent before its due time) counts as 0, and a value beyond 24 h as
24 h, so no call is ever left out of a count. The exact minimum and maximum are kept.

Recording is vectorised (`record_values`): `ResultStats.add` only appends to small buffers,
which are flushed into the histograms every `FLUSH_EVERY` rows, so it stays cheap at
thousands of calls per second.
"""

from array import array
from collections import Counter

import numpy as np
import pandas as pd
from hdrh.histogram import HdrHistogram
from rich.console import Console
from rich.table import Table

from invoker.results import COLUMNS, PHASE_MEASURE, STATUS_OK

HIGHEST_TRACKABLE_US = 24 * 3600 * 1_000_000
SUMMARY_SIGNIFICANT_FIGURES = 3
BREAKDOWN_SIGNIFICANT_FIGURES = 2
FLUSH_EVERY = 4096
_PHASE, _LAG, _LATENCY, _FROM_SCHEDULE, _STATUS = (
    COLUMNS.index(name) for name in ("phase", "lag_us", "latency_us", "latency_from_schedule_us", "status")
)

# Percentile labels of every distribution in a summary, in print order ("max" is exact).
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9, "p99.99": 99.99}
DISTRIBUTIONS = {
    "latency_us": "latency from send",
    "latency_from_schedule_us": "latency from schedule",
    "send_lag_us": "send lag",
}


def new_histogram(significant_figures: int = SUMMARY_SIGNIFICANT_FIGURES) -> HdrHistogram:
    """An empty histogram of µs values from 1 µs to 24 h."""
    return HdrHistogram(1, HIGHEST_TRACKABLE_US, significant_figures)


def _counts(histogram: HdrHistogram) -> np.ndarray:
    """The histogram's counters as a writable numpy view (no copy)."""
    return np.ctypeslib.as_array(histogram.counts)


def record_values(histogram: HdrHistogram, values) -> None:
    """Record many integer µs values at once.

    The bucket index is HdrHistogram's own formula (`HdrHistogram._counts_index_for`),
    computed for the whole array: bit length of `value | sub_bucket_mask` gives the bucket,
    the value shifted by the bucket's magnitude gives the sub-bucket.
    """
    values = np.clip(np.asarray(values, dtype=np.int64), 0, HIGHEST_TRACKABLE_US)
    if values.size == 0:
        return
    h = histogram
    bit_length = np.frexp((values | h.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
    bucket = bit_length - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + h.unit_magnitude)
    index = ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count
    counts = _counts(h)
    counts += np.bincount(index, minlength=h.counts_len).astype(counts.dtype)
    h.total_count += int(values.size)
    h.min_value = min(h.min_value, int(values.min()))
    h.max_value = max(h.max_value, int(values.max()))


def merge_histogram(into: HdrHistogram, other: HdrHistogram) -> None:
    """Add `other`'s counts to `into` (same settings), keeping the exact min and max."""
    counts = _counts(into)
    counts += _counts(other)
    into.total_count += other.total_count
    into.min_value = min(into.min_value, other.min_value)
    into.max_value = max(into.max_value, other.max_value)


def empty_percentiles() -> dict:
    """The percentiles of no calls: every label None."""
    return {label: None for label in (*PERCENTILES, "max")}


def percentiles(histogram: HdrHistogram) -> dict:
    """`PERCENTILES` plus the exact max, in µs; None for each when nothing was recorded.

    A percentile is the highest value equivalent to the bucket holding the
    ⌊p·n/100 + ½⌋-th value (HdrHistogram's definition), capped at the exact max.
    """
    total = histogram.total_count
    if total == 0:
        return empty_percentiles()
    cumulative = np.cumsum(_counts(histogram))
    result = {}
    for label, percentile in PERCENTILES.items():
        target = max(int(percentile * total / 100 + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        value = histogram.get_highest_equivalent_value(histogram.get_value_from_index(index))
        result[label] = min(value, histogram.max_value)
    result["max"] = histogram.max_value
    return result


def cdf(histogram: HdrHistogram) -> tuple[np.ndarray, np.ndarray]:
    """(value µs, fraction of values ≤ it) at every non-empty bucket, for CDF plots."""
    counts = _counts(histogram)
    nonzero = np.flatnonzero(counts)
    values = np.array(
        [min(histogram.get_highest_equivalent_value(histogram.get_value_from_index(int(i))),
             histogram.max_value) for i in nonzero],
        dtype=np.int64,
    )
    fractions = np.cumsum(counts[nonzero]) / max(histogram.total_count, 1)
    return values, fractions


class ResultStats:
    """Summary of the measured phase of a results stream: counters and three histograms.

    Warm-up rows are only counted (`warmup_calls`). Feed rows one at a time with `add`
    (the invoker) or whole columns with `add_columns` (the report); combine workers with
    `merge`.
    """

    def __init__(self) -> None:
        self.histograms = {name: new_histogram() for name in DISTRIBUTIONS}
        self.statuses: Counter = Counter()
        self.warmup_calls = 0
        self._pending = {name: array("q") for name in DISTRIBUTIONS}

    def add(self, row: dict) -> None:
        """One results row (keys of `invoker.results.COLUMNS`, ints for the *_us fields)."""
        if row["phase"] != PHASE_MEASURE:
            self.warmup_calls += 1
            return
        self.statuses[row["status"]] += 1
        pending = self._pending
        pending["latency_us"].append(row["latency_us"])
        pending["latency_from_schedule_us"].append(row["latency_from_schedule_us"])
        lag = pending["send_lag_us"]
        lag.append(row["lag_us"])
        if len(lag) >= FLUSH_EVERY:
            self._flush()

    def add_rows(self, rows: list[tuple]) -> None:
        """Rows as tuples in `COLUMNS` order, as the invoker makes them: 0.4 µs a row on the
        event loop instead of 1.6 µs for `add` of a dict made per row."""
        measured = [row for row in rows if row[_PHASE] == PHASE_MEASURE]
        self.warmup_calls += len(rows) - len(measured)
        self.statuses.update(row[_STATUS] for row in measured)
        pending = self._pending
        pending["latency_us"].extend(row[_LATENCY] for row in measured)
        pending["latency_from_schedule_us"].extend(row[_FROM_SCHEDULE] for row in measured)
        lag = pending["send_lag_us"]
        lag.extend(row[_LAG] for row in measured)
        if len(lag) >= FLUSH_EVERY:
            self._flush()

    def add_columns(self, phases, statuses, latency_us, latency_from_schedule_us, lag_us) -> None:
        """Many rows at once, as parallel arrays (or pandas Series) of those columns."""
        measured = np.asarray(phases, dtype=object) == PHASE_MEASURE
        self.warmup_calls += int(measured.size - measured.sum())
        self.statuses.update(_value_counts(np.asarray(statuses, dtype=object)[measured]))
        for name, values in (("latency_us", latency_us), ("latency_from_schedule_us", latency_from_schedule_us),
                             ("send_lag_us", lag_us)):
            record_values(self.histograms[name], np.asarray(values, dtype=np.int64)[measured])

    def _flush(self) -> None:
        for name, values in self._pending.items():
            record_values(self.histograms[name], np.frombuffer(values, dtype=np.int64))
            del values[:]

    def merge(self, other: "ResultStats") -> None:
        """Add another process's or worker's statistics to these."""
        self._flush()
        other._flush()
        for name, histogram in self.histograms.items():
            merge_histogram(histogram, other.histograms[name])
        self.statuses.update(other.statuses)
        self.warmup_calls += other.warmup_calls

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())

    def summary(self, scheduled_calls: int | None = None,
                measured_seconds: float | None = None) -> dict:
        """The measured phase as a dict with stable keys (µs integers, rates in calls/s).

        `scheduled_calls` (measured units of load.json) and `measured_seconds` (their length)
        are given when known; the derived keys are None otherwise.
        """
        self._flush()
        calls = self.calls
        ok = self.statuses.get(STATUS_OK, 0)
        failures = {status: count for status, count in self.statuses.most_common()
                    if status != STATUS_OK}
        summary = {
            "calls": calls,
            "ok": ok,
            "failed": calls - ok,
            "failures": failures,
            "warmup_calls": self.warmup_calls,
            "scheduled_calls": scheduled_calls,
            "issued_fraction": calls / scheduled_calls if scheduled_calls else None,
            "measured_seconds": measured_seconds,
            "scheduled_rps": (scheduled_calls / measured_seconds
                              if scheduled_calls is not None and measured_seconds else None),
            "achieved_rps": calls / measured_seconds if measured_seconds else None,
        }
        for name, histogram in self.histograms.items():
            summary[name] = percentiles(histogram)
        return summary


def _value_counts(values) -> dict:
    """{value: count} of an array of strings."""
    return {str(key): int(count) for key, count in pd.Series(values, dtype=object).value_counts().items()}


class Breakdown:
    """Per-key counters and latency histograms (2 significant figures), e.g. per endpoint
    or per unit. Memory grows with the number of keys, not of rows."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.errors: Counter = Counter()
        self.histograms: dict = {}

    def add_columns(self, keys, statuses, latency_us, latency_from_schedule_us) -> None:
        """Rows as parallel arrays; `keys` say which group each row belongs to."""
        codes, unique = pd.factorize(np.asarray(keys))
        failed = np.asarray(statuses, dtype=object) != STATUS_OK
        latency_us = np.asarray(latency_us, dtype=np.int64)
        latency_from_schedule_us = np.asarray(latency_from_schedule_us, dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(unique)))
        for key, rows in zip(unique.tolist(), np.split(order, ends[:-1])):
            histograms = self._histograms(key)
            record_values(histograms["latency_us"], latency_us[rows])
            record_values(histograms["latency_from_schedule_us"], latency_from_schedule_us[rows])
            self.calls[key] += len(rows)
            self.errors[key] += int(failed[rows].sum())

    def _histograms(self, key) -> dict:
        if key not in self.histograms:
            self.histograms[key] = {
                "latency_us": new_histogram(BREAKDOWN_SIGNIFICANT_FIGURES),
                "latency_from_schedule_us": new_histogram(BREAKDOWN_SIGNIFICANT_FIGURES),
            }
        return self.histograms[key]

    def merge(self, other: "Breakdown") -> None:
        for key, histograms in other.histograms.items():
            mine = self._histograms(key)
            for name, histogram in histograms.items():
                merge_histogram(mine[name], histogram)
        self.calls.update(other.calls)
        self.errors.update(other.errors)

    def rows(self) -> dict:
        """{key: {"calls", "errors", "latency_us": {...}, "latency_from_schedule_us": {...}}}
        in key order."""
        return {
            key: {
                "calls": self.calls[key],
                "errors": self.errors[key],
                **{name: percentiles(h) for name, h in self.histograms[key].items()},
            }
            for key in sorted(self.histograms)
        }


def _ms(value_us) -> str:
    return "–" if value_us is None else f"{value_us / 1000:,.3f}"


def render_summary(summary: dict, console: Console) -> None:
    """Print a `ResultStats.summary()` as two rich tables: counts and rates, then latencies."""
    counts = Table(title="Measured phase", show_header=False)
    counts.add_column("metric")
    counts.add_column("value", justify="right")
    counts.add_row("calls issued", f"{summary['calls']:,}")
    counts.add_row("OK", f"{summary['ok']:,}")
    for status, count in summary["failures"].items():
        counts.add_row(f"failed: {status}", f"{count:,}", style="red")
    counts.add_row("warm-up calls (not counted)", f"{summary['warmup_calls']:,}")
    if summary["scheduled_calls"] is not None:
        counts.add_row("calls scheduled", f"{summary['scheduled_calls']:,}")
    if summary["issued_fraction"] is not None:
        counts.add_row("issued / scheduled", f"{summary['issued_fraction']:.2%}")
    if summary["scheduled_rps"] is not None:
        counts.add_row("scheduled rate (calls/s)", f"{summary['scheduled_rps']:,.1f}")
    if summary["achieved_rps"] is not None:
        counts.add_row("achieved rate (calls/s)", f"{summary['achieved_rps']:,.1f}")
    console.print(counts)

    latencies = Table(title="Latency (ms)")
    latencies.add_column("percentile")
    for title in DISTRIBUTIONS.values():
        latencies.add_column(title, justify="right")
    for label in (*PERCENTILES, "max"):
        latencies.add_row(label, *(_ms(summary[name][label]) for name in DISTRIBUTIONS))
    console.print(latencies)
