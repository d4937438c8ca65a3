"""The Azure Functions 2021 invocation trace: one row per call.

A CSV file of any name (the download is `AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt`)
with the columns `app, func, end_timestamp, duration` (found by name, any order and case;
seconds, `end_timestamp` from the trace's time 0).  A function is the pair (app, func): `func`
is unique only within its app.  In the trace's table a function has `HashOwner` = `HashApp` =
app (the trace names no owner), `HashFunction` = func and an empty `Trigger`.

- A call starts at `end_timestamp - duration`, both rounded to the µs first, so every start
  is an exact µs offset from time 0.  A call that ended before its duration had passed since
  time 0 would start before the trace: it is **kept with its start clamped to 0**, and counted
  (`Trace.clamped_starts`).  Dropping it would lose a call the trace recorded; its real start
  lies before anything else in the trace, so 0 is the closest time the replay can give it.
- Counts: unit u (a minute, or a second with `granularity="second"`) holds the calls that
  start in [u·unit, (u+1)·unit); there are as many units as it takes to hold the last start.
  The window's counts are built from the calls and are exactly the number of calls there.
- Durations: per function, over all its calls in the file, in ms: `Average`, `Count`,
  `Minimum`, `Maximum` and `percentile_Average_{0,1,25,50,75,99,100}` (linear interpolation
  between order statistics, numpy's default).
- Memory: the trace has none; every function gets `memory_mb` (default 200 MB, invitro's
  constant) in every memory column, and the summary says so.

Every problem (missing column, empty file or no calls, a non-numeric, empty or negative time
or duration, a ragged row) is an `InputError` naming the file, line and column.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from loadcore.csvfile import canonical_names, number_column, read_arrow, read_csv, read_header, require_columns, text_column
from loadcore.errors import InputError
from loadgen.traces.model import (
    DURATION_COLUMNS,
    DURATION_PERCENTILES,
    MEMORY_COLUMNS,
    Calls,
    Trace,
    Window,
)
from loadcore.units import UNIT_US

COLUMNS = ("app", "func", "end_timestamp", "duration")
DEFAULT_MEMORY_MB = 200.0
_TIMES = ("end_timestamp", "duration")


def is_call_file(path: Path) -> bool:
    """True when the first line of `path` names the four columns of the 2021 trace."""
    try:
        with open(path, "rb") as source:
            first = source.readline(65536)
    except OSError:
        return False
    cells = {cell.strip().strip('"').lower() for cell in first.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").split(",")}
    return set(COLUMNS) <= cells


def read_calls(path: Path, granularity: str, window: Window | None, memory_mb: float | None) -> Trace:
    """Read and validate the calls of a 2021 trace; counts only for `window` (all when None)."""
    path = Path(path)
    (app, apps), (func, funcs), end_us, duration_us = _columns(path)
    keys, function = _functions(app, apps, func, funcs)
    start_us = end_us - duration_us
    clamped = int((start_us < 0).sum())
    np.maximum(start_us, 0, out=start_us)
    unit_us = UNIT_US[granularity]
    units = [str(u + 1) for u in range(int(start_us.max()) // unit_us + 1)]
    window = window or Window(0, len(units), "of the whole trace")
    window.check(path, len(units), granularity)
    order = np.argsort(start_us, kind="stable")
    calls = Calls(function[order], start_us[order], duration_us[order])
    lo, hi = np.searchsorted(calls.start_us, [window.start * unit_us, window.end * unit_us])
    cells = calls.function[lo:hi] * window.length + (calls.start_us[lo:hi] // unit_us - window.start)
    counts = np.bincount(cells, minlength=len(keys[0]) * window.length).reshape(len(keys[0]), window.length)
    memory = DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
    functions = pd.DataFrame({"HashOwner": keys[0], "HashApp": keys[0], "HashFunction": keys[1], "Trigger": ""})
    functions = pd.concat([functions, _duration_table(function, duration_us, len(keys[0]))], axis=1)
    functions["SampleCount"] = functions["Count"]
    for column in ("AverageAllocatedMb", *MEMORY_COLUMNS):
        functions[column] = memory
    return Trace(
        functions, counts, units, granularity, {"invocations": path}, "azure2021", first_unit=window.start,
        calls=calls, constant_memory_mb=memory, clamped_starts=clamped,
    )  # fmt: skip


def _columns(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """app and func (codes and names), end and duration in µs; fast with pyarrow, and when
    anything is off, through the strict reader for a message naming the line and column."""
    header = read_header(path)
    names = canonical_names(header, COLUMNS)
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise InputError(f"{path}: missing column {missing[0]!r} in the header, expected {', '.join(COLUMNS)}")
    actual = dict(zip(names, header))
    table = _fast_table(path, actual)
    if table is not None:
        times = [table.column(actual[c]).to_numpy() for c in _TIMES]
        if all(np.isfinite(t).all() and (t >= 0).all() for t in times):
            texts = [_codes(table.column(actual[c])) for c in ("app", "func")]
            return *texts, *(np.rint(t * 1e6).astype(np.int64) for t in times)
    strict = read_csv(path, _TIMES, text_columns=("app", "func"))
    require_columns(path, strict, list(COLUMNS))
    texts = [pd.factorize(text_column(path, strict, c).to_numpy(dtype=object)) for c in ("app", "func")]
    end, duration = (number_column(path, strict, c) for c in _TIMES)
    return *texts, np.rint(end * 1e6).astype(np.int64), np.rint(duration * 1e6).astype(np.int64)


def _fast_table(path: Path, actual: dict[str, str]) -> "pa.Table | None":
    """The four columns as pyarrow reads them (app and func dictionary-encoded), or None when
    the file has anything the strict reader must explain: a bad row, an empty cell, no rows."""
    text = pa.dictionary(pa.int32(), pa.string())
    types = {"app": text, "func": text, "end_timestamp": pa.float64(), "duration": pa.float64()}
    table = read_arrow(path, [actual[c] for c in COLUMNS], {actual[c]: kind for c, kind in types.items()})
    if table is None or not table.num_rows or any(table.column(actual[c]).null_count for c in COLUMNS):
        return None
    return table.unify_dictionaries()


def _codes(column: "pa.ChunkedArray") -> tuple[np.ndarray, np.ndarray]:
    """Per-row codes and the distinct values of a dictionary column whose chunks share one dictionary."""
    codes = np.concatenate([chunk.indices.to_numpy() for chunk in column.chunks])
    return codes, column.chunks[0].dictionary.to_numpy(zero_copy_only=False)


def _functions(app: np.ndarray, apps: np.ndarray, func: np.ndarray, funcs: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The (app, func) pairs in order of first call in the file, and every call's function."""
    pair_codes, pairs = pd.factorize(app.astype(np.int64) * len(funcs) + func)
    app_of, func_of = np.divmod(pairs, len(funcs))
    return (np.asarray(apps)[app_of], np.asarray(funcs)[func_of]), pair_codes


def _duration_table(function: np.ndarray, duration_us: np.ndarray, functions: int) -> pd.DataFrame:
    """Per function: mean, count, min, max and the duration percentiles in ms over its calls."""
    order = np.lexsort((duration_us, function))
    ms = duration_us[order] / 1000.0
    count = np.bincount(function, minlength=functions)
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    table = {
        "Average": np.bincount(function, weights=duration_us, minlength=functions) / 1000.0 / count,
        "Count": count,
        "Minimum": ms[first],
        "Maximum": ms[first + count - 1],
    }
    for percentile, column in zip(DURATION_PERCENTILES, DURATION_COLUMNS):
        position = percentile / 100 * (count - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, count - 1)
        fraction = position - below
        table[column] = ms[first + below] + (ms[first + above] - ms[first + below]) * fraction
    return pd.DataFrame(table)
