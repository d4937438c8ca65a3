"""Mergeable, bounded-memory statistics of results rows: one entry type for every breakdown.

`CallStats` counts a set of calls by status and by cold start (the `cold` column: cold, warm,
unknown) and keeps HDR histograms (`loadcore.histogram`) of their latency from send, latency
from schedule and send lag. The same type serves the
measured phase of a run, one function, one unit or one worker, and entries of several
processes or worker nodes merge exactly (`merge`), as Locust's stats entries do. `StatsByKey`
holds one entry per key, filled from whole columns. Memory depends on the number of entries,
never on the number of rows.

Rows come in as `loadcore.results.ResultRow`s (the invoker, a few at a time: `add_rows`
buffers them and records in bulk every `FLUSH_EVERY` rows, 0.4 µs a row on the event loop)
or as columns (`loadgen report`: `add_columns`). Which rows to count (the measured phase, a
function) is the caller's choice.
"""

from array import array
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from loadcore.histogram import merge_histogram, new_histogram, percentiles, record_grouped, record_values
from loadcore.results import COLD_FALSE, COLD_TRUE, STATUS_OK, ResultRow

SUMMARY_SIGNIFICANT_FIGURES = 3  # 0.1 %: a run as a whole
BREAKDOWN_SIGNIFICANT_FIGURES = 2  # 1 %: per function, unit, worker
FLUSH_EVERY = 4096
DISTRIBUTIONS = {
    "latency_us": "latency from send",
    "latency_from_schedule_us": "latency from schedule",
    "send_lag_us": "send lag",
}
"""The distributions every entry keeps, with their names in tables and figures."""


class CallStats:
    """Counts by status and by cold start, and the `DISTRIBUTIONS` histograms of one set of calls."""

    def __init__(self, significant_figures: int = SUMMARY_SIGNIFICANT_FIGURES) -> None:
        self.significant_figures = significant_figures
        self.statuses: Counter = Counter()
        self.cold_flags: Counter = Counter()  # the `cold` column's values: COLD_TRUE, COLD_FALSE, ""
        self.histograms = {name: new_histogram(significant_figures) for name in DISTRIBUTIONS}
        self._pending = {name: array("q") for name in DISTRIBUTIONS}

    def add_rows(self, rows: Sequence[ResultRow]) -> None:
        """Count these rows (all of them)."""
        self.statuses.update(row.status for row in rows)
        self.cold_flags.update(row.cold for row in rows)
        pending = self._pending
        pending["latency_us"].extend(row.latency_us for row in rows)
        pending["latency_from_schedule_us"].extend(row.latency_from_schedule_us for row in rows)
        lag = pending["send_lag_us"]
        lag.extend(row.lag_us for row in rows)
        if len(lag) >= FLUSH_EVERY:
            self._flush()

    def add_columns(self, statuses, latency_us, latency_from_schedule_us, lag_us, cold=None) -> None:
        """Count many rows given as parallel arrays (or pandas Series) of those columns (`cold`:
        the rows' cold-start flags, unknown for all when None)."""
        self.statuses.update(_value_counts(statuses))
        if cold is not None:
            self.cold_flags.update(_value_counts(cold))
        for name, values in zip(DISTRIBUTIONS, (latency_us, latency_from_schedule_us, lag_us)):
            record_values(self.histograms[name], np.asarray(values, dtype=np.int64))

    def _flush(self) -> None:
        for name, values in self._pending.items():
            record_values(self.histograms[name], np.frombuffer(values, dtype=np.int64))
            del values[:]

    def merge(self, other: "CallStats") -> None:
        """Add another entry's calls (same significant figures) to this one."""
        self._flush()
        other._flush()
        for name, histogram in self.histograms.items():
            merge_histogram(histogram, other.histograms[name])
        self.statuses.update(other.statuses)
        self.cold_flags.update(other.cold_flags)

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return self.statuses.get(STATUS_OK, 0)

    @property
    def errors(self) -> int:
        return self.calls - self.ok

    @property
    def cold_calls(self) -> int:
        """Calls that paid a cold start."""
        return self.cold_flags.get(COLD_TRUE, 0)

    @property
    def warm_calls(self) -> int:
        """Calls known not to have paid one (the rest are unknown)."""
        return self.cold_flags.get(COLD_FALSE, 0)

    def failures(self) -> dict[str, int]:
        """Calls per failure status, the most frequent first."""
        return {status: count for status, count in self.statuses.most_common() if status != STATUS_OK}

    def histogram(self, name: str):
        """The HDR histogram of one of the `DISTRIBUTIONS`, every row added so far recorded."""
        self._flush()
        return self.histograms[name]

    def percentiles(self, name: str) -> dict[str, int | None]:
        """The percentiles (µs, `loadcore.histogram.LABELS`) of one of the `DISTRIBUTIONS`."""
        return percentiles(self.histogram(name))


class StatsByKey:
    """One `CallStats` per key (an endpoint, a unit, ...), filled from whole columns."""

    def __init__(self, significant_figures: int = BREAKDOWN_SIGNIFICANT_FIGURES) -> None:
        self.significant_figures = significant_figures
        self.entries: dict = {}

    def entry(self, key) -> CallStats:
        if key not in self.entries:
            self.entries[key] = CallStats(self.significant_figures)
        return self.entries[key]

    def add_columns(self, keys, statuses, latency_us, latency_from_schedule_us, lag_us, cold=None) -> None:
        """Rows as parallel arrays; `keys` say which entry each row belongs to. Counted for all
        keys at once: a per-key pass costs ~0.3 ms, which a results file's thousands of
        functions and units times its chunks made most of `loadgen report`'s time."""
        codes, unique = pd.factorize(np.asarray(keys))
        if not len(unique):
            return
        entries = [self.entry(key) for key in unique.tolist()]
        for entry, counts in zip(entries, _value_counts_by_code(codes, len(unique), statuses)):
            entry.statuses.update(counts)
        if cold is not None:
            for entry, counts in zip(entries, _value_counts_by_code(codes, len(unique), cold)):
                entry.cold_flags.update(counts)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=len(unique))
        starts = np.cumsum(sizes) - sizes
        for name, values in zip(DISTRIBUTIONS, (latency_us, latency_from_schedule_us, lag_us)):
            record_grouped([entry.histograms[name] for entry in entries], starts, np.asarray(values, dtype=np.int64)[order])

    def merge(self, other: "StatsByKey") -> None:
        for key, stats in other.entries.items():
            self.entry(key).merge(stats)

    def items(self) -> list[tuple]:
        """(key, entry) in key order."""
        return sorted(self.entries.items(), key=lambda item: item[0])

    def __contains__(self, key) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)


def _value_counts_by_code(codes: np.ndarray, keys: int, values) -> list[dict]:
    """{value: count} of an array of strings for each of `keys` groups (`codes`: each value's
    group); missing values (None, NaN) are not counted."""
    value_codes, names = pd.factorize(np.asarray(values, dtype=object))
    counted = value_codes >= 0
    table = np.bincount(codes[counted] * len(names) + value_codes[counted], minlength=keys * len(names))
    names = [str(name) for name in names]
    return [{names[j]: count for j, count in enumerate(row) if count} for row in table.reshape(keys, len(names)).tolist()]


def _value_counts(values) -> dict:
    """{value: count} of an array of strings."""
    values = np.asarray(values, dtype=object)
    return _value_counts_by_code(np.zeros(len(values), dtype=np.int64), 1, values)[0]
