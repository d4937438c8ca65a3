"""Merge the results files of every invoker process and worker node, streamed, de-duplicated.

Files are read block by block (`loadcore.results.ResultsChunks`) into mergeable statistics
(`loadcore.stats`): the measured phase as a whole, per function, per unit, per kind (a call
with a requested runtime went to a synthetic function, any other to a proxy) and per worker,
and the measured calls' slowdowns (`Slowdowns`). A worker is one invoker run as its rows
record it (`loadcore.results.PROVENANCE_COLUMNS`: run id, shard, host, t0); rows of files older
than those columns make one worker per file; a report covers at most
`loadcore.shards.MAX_WORKERS` workers. Files of different runs (different run ids) are
refused unless `mixed_runs` allows them: two runs of one load.json would otherwise add up to
more calls than it holds, with nothing to show it.

Memory does not grow with the row count, except for de-duplication: rows are de-duplicated by
`invocation_id` (the first row of an id wins) using a set of 64-bit hashes of the ids, 8 bytes
per row kept in sorted arrays (80 MB for ten million rows). Two distinct ids share a hash with
probability below 1e-6 at a hundred million rows; such a row would be counted as a duplicate.

Each row's cold-start flag is its `cold` column (what its reply said), or, where that is
empty and an `infer_cold` is given (`loadgen.coldstarts.ColdInference`), the one inferred for
it; measured calls are also kept apart by flag (`by_cold`: cold / warm latencies).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.errors import InputError
from loadcore.histogram import LABELS, new_histogram, percentiles, record_values
from loadcore.mappingfile import KIND_PROXY, KIND_SYNTHETIC
from loadcore.results import (
    COLD_FALSE,
    COLD_TRUE,
    NO_VALUE,
    PHASE_MEASURE,
    PROVENANCE_COLUMNS,
    STATUS_OK,
    ResultsChunks,
    due_within,
)
from loadcore.shards import MAX_WORKERS
from loadcore.stats import BREAKDOWN_SIGNIFICANT_FIGURES, SUMMARY_SIGNIFICANT_FIGURES, CallStats, StatsByKey
from loadcore.units import UNIT_US

SLOWDOWN_SCALE = 1000
"""Slowdowns are recorded in thousandths (the histograms hold integers)."""


class Slowdowns:
    """Per-call slowdown = latency from schedule ÷ the call's reference duration, by key, as HDR
    histograms of thousandths. The reference is the runtime a synthetic call asked for, or a
    proxy's profiled duration (when the mapping gives it)."""

    def __init__(self, significant_figures: int = BREAKDOWN_SIGNIFICANT_FIGURES) -> None:
        self.significant_figures = significant_figures
        self.histograms: dict = {}

    def add(self, keys, slowdowns) -> None:
        keys, slowdowns = np.asarray(keys), np.rint(np.asarray(slowdowns) * SLOWDOWN_SCALE).astype(np.int64)
        for key in np.unique(keys).tolist():
            if key not in self.histograms:
                self.histograms[key] = new_histogram(self.significant_figures)
            record_values(self.histograms[key], slowdowns[keys == key])

    def percentiles(self, key) -> dict[str, float | None]:
        """The percentiles (`loadcore.histogram.LABELS`) of a key's slowdowns; None when it has none."""
        if key not in self.histograms:
            return dict.fromkeys(LABELS)
        return {label: None if value is None else value / SLOWDOWN_SCALE
                for label, value in percentiles(self.histograms[key]).items()}

    def __contains__(self, key) -> bool:
        return key in self.histograms


class SeenIds:
    """The set of invocation ids read so far, as 64-bit hashes in sorted runs.

    Runs are merged like a binary counter (a run is merged into the previous one while that
    one is at most twice as long), so each lookup searches O(log n) runs.
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def first_seen(self, ids: pd.Series) -> np.ndarray:
        """Mask of the ids never seen before (and first within `ids`); adds them to the set."""
        hashes = pd.util.hash_pandas_object(ids, index=False).to_numpy()
        fresh = np.zeros(hashes.size, dtype=bool)
        fresh[np.unique(hashes, return_index=True)[1]] = True
        for run in self._runs:
            position = np.minimum(np.searchsorted(run, hashes), run.size - 1)
            fresh &= run[position] != hashes
        if fresh.any():
            self._runs.append(np.sort(hashes[fresh]))
            while len(self._runs) > 1 and self._runs[-2].size <= 2 * self._runs[-1].size:
                newest = self._runs.pop()
                self._runs[-1] = np.sort(np.concatenate((self._runs[-1], newest)))
        return fresh


@dataclass
class FileRead:
    """What one results file held."""

    path: Path
    rows: int = 0
    duplicate_rows: int = 0
    partial_last_line: int | None = None
    units: set = field(default_factory=set)


@dataclass
class WorkerRead:
    """One invoker run (a worker) as its rows record it; `t0_unix_us` None in files without it."""

    run_id: str
    shard: str
    host: str
    t0_unix_us: int | None
    files: list[Path] = field(default_factory=list)
    warmup_calls: int = 0

    @property
    def label(self) -> str:
        """`shard I/N on <host>`, or the files of a worker that did not record itself."""
        if not self.shard:
            return ", ".join(path.name for path in self.files)
        return f"shard {self.shard} on {self.host}" if self.host else f"shard {self.shard}"


@dataclass
class MergedResults:
    """Everything the report needs, in memory bounded by units, endpoints and workers, not rows.

    `per_worker` is keyed by the worker's index in `workers` (first seen first)."""

    measured: CallStats = field(default_factory=CallStats)
    warmup_calls: int = 0
    per_function: StatsByKey = field(default_factory=StatsByKey)
    per_unit: StatsByKey = field(default_factory=StatsByKey)
    per_kind: StatsByKey = field(default_factory=lambda: StatsByKey(SUMMARY_SIGNIFICANT_FIGURES))
    kinds: dict = field(default_factory=dict)
    """The kind of each endpoint with measured calls."""
    slowdown_by_kind: Slowdowns = field(default_factory=lambda: Slowdowns(SUMMARY_SIGNIFICANT_FIGURES))
    slowdown_by_function: Slowdowns = field(default_factory=Slowdowns)
    """Synthetic functions only: a proxy's slowdown has one reference, its percentiles are the
    latency's divided by it."""
    per_worker: StatsByKey = field(default_factory=StatsByKey)
    workers: list[WorkerRead] = field(default_factory=list)
    last_warmup_unit: int = -1
    files: list[FileRead] = field(default_factory=list)
    due_within: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(UNIT_US, True))
    """By granularity, whether every row so far was due within its unit of that length."""
    by_cold: StatsByKey = field(default_factory=StatsByKey)
    reported_cold: int = 0
    inferred_cold: int = 0
    silent_replies: int = 0  # measured calls answered OK whose reply did not say whether it was cold

    @property
    def t0_unix_us(self) -> int | None:
        """The earliest t0 the rows record (the run's, when its workers shared one `--start-at`);
        None when no file records one."""
        return min((worker.t0_unix_us for worker in self.workers if worker.t0_unix_us is not None), default=None)

    @property
    def run_ids(self) -> list[str]:
        """The distinct run ids of the rows, first seen first ("" for files without them)."""
        return list(dict.fromkeys(worker.run_id for worker in self.workers))

    @property
    def granularity(self) -> str:
        """`second` when every call was due within its unit as a second, else `minute`.

        A call of unit k is due at k·unit + offset with 0 ≤ offset < unit (`invoker.schedule`);
        the reader refuses rows that fit neither, so a minute's fit all the minute rows.
        """
        if self.due_within["second"]:
            return "second"
        if not self.due_within["minute"]:
            raise InputError(f"{', '.join(str(f.path) for f in self.files)}: some rows are timed in seconds, others "
                             f"in minutes; expected the results of one run")
        return "minute"


def merge_results(
    paths: list[Path],
    on_progress: Callable[[int], None] = lambda done: None,
    profiled_us: Callable[[str], float | None] = lambda endpoint: None,
    infer_cold: Callable | None = None,
    mixed_runs: bool = False,
) -> MergedResults:
    """Stream every results file into one `MergedResults`; `on_progress(bytes read so far)`;
    `profiled_us(endpoint)` is a proxy's profiled duration (µs), the reference of its slowdown;
    `infer_cold(endpoints, sent_us, t0_unix_us)`: flags for rows whose reply said nothing.

    Rows of a second run id are an `InputError` naming both runs, unless `mixed_runs`."""
    merged = MergedResults()
    profiled = functools.cache(profiled_us)
    seen = SeenIds()
    workers = _Workers(merged, mixed_runs)
    done = 0
    for path in paths:
        chunks = ResultsChunks(path)
        read = FileRead(Path(path))
        for table in chunks:
            fresh = seen.first_seen(table["invocation_id"])
            read.duplicate_rows += int((~fresh).sum())
            new = table[fresh]
            _add(merged, read, new, workers.codes(read.path, new), profiled, infer_cold)
            on_progress(done + chunks.bytes_read)
        done += chunks.bytes_read
        read.rows = chunks.rows
        read.partial_last_line = chunks.partial_last_line
        merged.files.append(read)
    return merged


def _columns(table: pd.DataFrame) -> tuple:
    return table["status"], table["latency_us"], table["latency_from_schedule_us"], table["lag_us"], table["cold"]


class _Workers:
    """Gives each row the index of its worker in `merged.workers`, registering new workers."""

    def __init__(self, merged: MergedResults, mixed_runs: bool) -> None:
        self.merged = merged
        self.mixed_runs = mixed_runs
        self.index: dict[tuple, int] = {}

    def codes(self, path: Path, table: pd.DataFrame) -> np.ndarray:
        if table.empty:
            return np.empty(0, dtype=np.int64)
        t0 = table["t0_unix_us"].to_numpy()
        columns = [table[name].to_numpy() for name in PROVENANCE_COLUMNS[:-1]] + [np.where(np.isnan(t0), -1, t0)]
        if all((column == column[0]).all() for column in columns):  # one worker per file, as written
            return np.full(len(table), self._code(path, [column[0] for column in columns]), dtype=np.int64)
        frame = pd.DataFrame(dict(zip(PROVENANCE_COLUMNS, columns)))
        groups = frame.groupby(list(PROVENANCE_COLUMNS), sort=False).ngroup().to_numpy()
        firsts = frame.drop_duplicates().itertuples(index=False)
        return np.array([self._code(path, list(values)) for values in firsts], dtype=np.int64)[groups]

    def _code(self, path: Path, values: list) -> int:
        run_id, shard, host, t0 = values
        key = (run_id, shard, host, None if t0 < 0 else int(t0))
        if run_id == NO_VALUE and shard == NO_VALUE:
            key += (path,)  # written before provenance columns: the file is all we know of its worker
        code = self.index.get(key)
        if code is None:
            self._check_run(path, run_id)
            if len(self.merged.workers) == MAX_WORKERS:
                raise InputError(f"{path}: rows of more than {MAX_WORKERS:,} workers (distinct run_id, shard, host and "
                                 f"t0_unix_us); a report covers at most {MAX_WORKERS:,}, the most shards of a run")
            code = self.index[key] = len(self.merged.workers)
            self.merged.workers.append(WorkerRead(*key[:4]))
        worker = self.merged.workers[code]
        if not worker.files or worker.files[-1] != path:
            worker.files.append(path)
        return code

    def _check_run(self, path: Path, run_id: str) -> None:
        if self.mixed_runs or not self.merged.workers or run_id == self.merged.workers[0].run_id:
            return
        first = self.merged.workers[0]
        raise InputError(
            f"{path}: rows of run {_run_name(run_id)}, but {first.files[0]} has run {_run_name(first.run_id)}: "
            "these are two runs, not shards of one (shards started with one --start-at, or given one --run-id, "
            "share a run id); report each run on its own, or give --allow-mixed-runs to merge them anyway"
        )


def _run_name(run_id: str) -> str:
    return repr(run_id) if run_id != NO_VALUE else "(none: a file from before run ids)"


def _add(merged: MergedResults, read: FileRead, table: pd.DataFrame, workers: np.ndarray, profiled_us,
         infer_cold) -> None:  # fmt: skip
    if table.empty:
        return
    is_measured = (table["phase"] == PHASE_MEASURE).to_numpy()
    reported = (table["cold"] != NO_VALUE).to_numpy()
    merged.reported_cold += int((reported & is_measured).sum())
    merged.silent_replies += int((~reported & is_measured & (table["status"] == STATUS_OK).to_numpy()).sum())
    if infer_cold is not None and not reported.all():
        cold = table["cold"].to_numpy(dtype=object, copy=True)
        unknown = ~reported
        cold[unknown] = infer_cold(table["endpoint"].to_numpy()[unknown], table["sent_us"].to_numpy()[unknown],
                                   table["t0_unix_us"].to_numpy(dtype=np.float64)[unknown])  # fmt: skip
        table = table.assign(cold=cold)
        merged.inferred_cold += int(((cold != NO_VALUE) & unknown & is_measured).sum())
    unit = table["unit"].to_numpy()
    for name, fits in due_within(table).items():
        merged.due_within[name] &= bool(fits.all())
    read.units.update(np.unique(unit).tolist())
    if not is_measured.all():
        merged.last_warmup_unit = max(merged.last_warmup_unit, int(unit[~is_measured].max()))
    merged.warmup_calls += int((~is_measured).sum())
    for code, calls in enumerate(np.bincount(workers[~is_measured]).tolist()):
        merged.workers[code].warmup_calls += calls
    measured = table[is_measured]
    merged.per_unit.add_columns(unit, *_columns(table))
    merged.measured.add_columns(*_columns(measured))
    merged.per_function.add_columns(measured["endpoint"], *_columns(measured))
    flagged = measured[measured["cold"].isin((COLD_TRUE, COLD_FALSE)).to_numpy()]
    if not flagged.empty:
        merged.by_cold.add_columns(flagged["cold"], *_columns(flagged))
    merged.per_worker.add_columns(workers[is_measured], *_columns(measured))
    _add_kinds(merged, measured, profiled_us)


def _add_kinds(merged: MergedResults, measured: pd.DataFrame, profiled_us) -> None:
    """The measured calls by kind, and their slowdowns where the reference is known."""
    if measured.empty:
        return
    endpoints = measured["endpoint"].to_numpy()
    requested_us = measured["requested_runtime_ms"].to_numpy(dtype=np.float64) * 1000
    synthetic = ~np.isnan(requested_us)
    kinds = np.where(synthetic, KIND_SYNTHETIC, KIND_PROXY)
    merged.per_kind.add_columns(kinds, *_columns(measured))
    merged.kinds.update(zip(endpoints.tolist(), kinds.tolist()))
    reference = requested_us
    if not synthetic.all():
        codes, unique = pd.factorize(endpoints[~synthetic])
        durations = np.array([profiled_us(endpoint) or np.nan for endpoint in unique], dtype=np.float64)
        reference[~synthetic] = durations[codes]
    usable = reference > 0
    slowdown = measured["latency_from_schedule_us"].to_numpy()[usable] / reference[usable]
    merged.slowdown_by_kind.add(kinds[usable], slowdown)
    merged.slowdown_by_function.add(endpoints[usable & synthetic], slowdown[synthetic[usable]])
