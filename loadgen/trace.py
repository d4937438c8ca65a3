"""Read and validate an Azure Functions 2019 trace folder.

A trace folder holds three CSV files (UTF-8 with or without BOM, LF or CRLF; columns found by
name, case-insensitively, in any order):

- invocations (`invocations.csv`, or the official `invocations_per_function_md.anon.dNN.csv`):
  `HashOwner, HashApp, HashFunction, Trigger` and one count column per time unit, the count
  columns being the headers that are whole numbers (e.g. `1` ... `1440`), in file order.
  A unit is a minute (the Azure files) or a second (`granularity="second"`, converters).
- durations (`durations.csv`, or `function_durations_percentiles.anon.dNN.csv`), ms:
  `HashOwner, HashApp, HashFunction, percentile_Average_{0,1,25,50,75,99,100}`
  (`Average, Count, Minimum, Maximum` are kept when present and may be empty).
- memory (`memory.csv`, or `app_memory_percentiles.anon.dNN.csv`), MB:
  `HashOwner, HashApp, AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}`, either per function
  (13 columns, with `HashFunction`, as invitro's sampler and the vSwarm sample trace write it)
  or the official per-application file (12 columns, no `HashFunction`).

Per-application memory: **every function of the app gets the app's whole memory**, not a
share of it.  Azure runs all functions of an app in the same instance, so the app's committed
memory is the footprint an instance serving any of its functions has; dividing it among the
functions (invitro's sampler) would make functions of big apps look tiny and map them to
the smallest proxies.

Functions are keyed by (HashOwner, HashApp, HashFunction): the hashes are salted per column,
so a function name alone is not unique across apps.  The trace keeps the invocation file's
order.  A function missing from the durations or memory file is skipped and counted
(`Trace.skipped`); with `strict=True` it is an error.  Every other problem (missing file or
column, empty file, ragged row, undecodable bytes, non-numeric, negative or empty number,
duplicate function) raises `InputError` naming the file, line and column.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.csvfile import (
    count_matrix,
    line_of,
    number_column,
    read_csv,
    require_columns,
    text_column,
)
from loadcore.errors import InputError
from loadcore.units import UNIT_US

KEY = ["HashOwner", "HashApp", "HashFunction"]
DURATION_PERCENTILES = (0, 1, 25, 50, 75, 99, 100)
MEMORY_PERCENTILES = (1, 5, 25, 50, 75, 95, 99, 100)
DURATION_COLUMNS = [f"percentile_Average_{p}" for p in DURATION_PERCENTILES]
MEMORY_COLUMNS = [f"AverageAllocatedMb_pct{p}" for p in MEMORY_PERCENTILES]
DURATION_EXTRA = ["Average", "Count", "Minimum", "Maximum"]
MEMORY_EXTRA = ["SampleCount", "AverageAllocatedMb"]

FILE_PATTERNS = {
    "invocations": ("invocations.csv", "invocations*.csv"),
    "durations": ("durations.csv", "*durations*.csv"),
    "memory": ("memory.csv", "*memory*.csv"),
}
_COUNT_HEADER = re.compile(r"^\d+$")


@dataclass
class Trace:
    """One validated trace: a per-function table and the invocation counts, both in trace order.

    `functions` has `HashOwner, HashApp, HashFunction, Trigger`, the duration columns (ms) and
    the memory columns (MB) named as in the Azure files.  `counts[i, u]` is the number of
    invocations of function i in unit u; `units` are the count column headers.
    """

    functions: pd.DataFrame
    counts: np.ndarray
    units: list[str]
    granularity: str
    files: dict[str, Path]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def unit_us(self) -> int:
        """Length of one count column in microseconds."""
        return UNIT_US[self.granularity]

    def duration_ms(self, percentile: int) -> np.ndarray:
        return self.functions[f"percentile_Average_{percentile}"].to_numpy(dtype=np.float64)

    def memory_mb(self, percentile: int) -> np.ndarray:
        return self.functions[f"AverageAllocatedMb_pct{percentile}"].to_numpy(dtype=np.float64)

    def window(self, start: int, warmup: int, duration: int) -> np.ndarray:
        """Counts of the units `start` ... `start + warmup + duration - 1` (warm-up first)."""
        if start < 0 or warmup < 0 or duration < 1:
            raise InputError(
                f"--start {start}, --warmup {warmup}, --duration {duration}: expected start, warmup >= 0 and duration >= 1"
            )
        end = start + warmup + duration
        if end > len(self.units):
            raise InputError(
                f"{self.files['invocations']}: the window --start {start} + --warmup {warmup} + --duration {duration}"
                f" = {end} {self.granularity}s, but the trace has only {len(self.units)} count columns"
            )
        return self.counts[:, start:end]


def find_files(directory: Path) -> dict[str, Path]:
    """The invocations, durations and memory files of a trace folder."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: trace folder not found")
    files = {}
    for role, (plain, pattern) in FILE_PATTERNS.items():
        if (directory / plain).is_file():
            files[role] = directory / plain
            continue
        matches = sorted(directory.glob(pattern))
        if len(matches) != 1:
            found = "none" if not matches else ", ".join(m.name for m in matches)
            raise InputError(f"{directory}: expected one {role} file ({plain} or {pattern}), found {found}")
        files[role] = matches[0]
    return files


def read_trace(directory: Path, granularity: str = "minute", strict: bool = False) -> Trace:
    """Read, validate and join the three files of a trace folder."""
    if granularity not in UNIT_US:
        raise InputError(f"granularity {granularity!r}: expected one of {', '.join(UNIT_US)}")
    files = find_files(directory)
    invocations, counts, units = _read_invocations(files["invocations"])
    durations = _read_durations(files["durations"])
    memory, per_app = _read_memory(files["memory"])

    keys = invocations.set_index(KEY).index
    memory_key = ["HashOwner", "HashApp"] if per_app else KEY
    has_duration = keys.isin(durations.set_index(KEY).index)
    has_memory = invocations.set_index(memory_key).index.isin(memory.set_index(memory_key).index)
    skipped = {}
    for role, present in (("durations", has_duration), ("memory", has_memory)):
        missing = np.flatnonzero(~present)
        if missing.size:
            if strict:
                row = int(missing[0])
                raise InputError(
                    f"{files['invocations']}: line {line_of(row)}: function {'/'.join(keys[row])} is missing from "
                    f"{files[role]} ({missing.size} functions in all; without --strict they are skipped)"
                )
            skipped[role] = int(missing.size)
    kept = has_duration & has_memory
    functions = invocations[kept].merge(durations, on=KEY, how="left").merge(memory, on=memory_key, how="left")
    if functions.empty:
        raise InputError(f"{files['invocations']}: no function appears in all three trace files")
    return Trace(functions, counts if kept.all() else counts[kept], units, granularity, files, skipped)


def _read_invocations(path: Path) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    table = read_csv(path, (), text_columns=(*KEY, "Trigger"))
    require_columns(path, table, [*KEY, "Trigger"])
    units = [column for column in table.columns if _COUNT_HEADER.match(str(column))]
    if not units:
        raise InputError(f"{path}: line 1: no count columns, expected headers that are unit numbers (e.g. 1 ... 1440)")
    functions = _keyed(path, table, KEY, ["Trigger"])
    return functions, count_matrix(path, table, units), units


def _read_durations(path: Path) -> pd.DataFrame:
    table = read_csv(path, (*DURATION_COLUMNS, *DURATION_EXTRA), text_columns=KEY)
    require_columns(path, table, [*KEY, *DURATION_COLUMNS])
    return _with_numbers(path, table, _keyed(path, table, KEY, []), DURATION_COLUMNS, DURATION_EXTRA)


def _read_memory(path: Path) -> tuple[pd.DataFrame, bool]:
    table = read_csv(path, (*MEMORY_COLUMNS, *MEMORY_EXTRA), text_columns=KEY)
    per_app = "HashFunction" not in table.columns
    key = ["HashOwner", "HashApp"] if per_app else KEY
    require_columns(path, table, [*key, *MEMORY_COLUMNS])
    return _with_numbers(path, table, _keyed(path, table, key, []), MEMORY_COLUMNS, MEMORY_EXTRA), per_app


def _with_numbers(path: Path, table: pd.DataFrame, keyed: pd.DataFrame, required, optional) -> pd.DataFrame:
    """`keyed` plus the numeric columns: `required` ones validated, `optional` ones (often
    empty in the Azure files, e.g. Minimum/Maximum) kept as NaN where not numbers."""
    for column in required:
        keyed[column] = number_column(path, table, column)
    for column in optional:
        if column in table.columns:
            keyed[column] = pd.to_numeric(table[column], errors="coerce")
    return keyed


def _keyed(path: Path, table: pd.DataFrame, key: list[str], extra_text: list[str]) -> pd.DataFrame:
    """The key (and other text) columns, validated non-empty, with duplicate keys rejected."""
    keyed = pd.DataFrame({column: text_column(path, table, column) for column in (*key, *extra_text)})
    duplicated = keyed.duplicated(key, keep=False).to_numpy()
    if duplicated.any():
        rows = np.flatnonzero(duplicated)
        first = int(rows[0])
        twin = next(int(r) for r in rows[1:] if (keyed.iloc[r][key] == keyed.iloc[first][key]).all())
        raise InputError(
            f"{path}: lines {line_of(first)} and {line_of(twin)}: duplicate {'/'.join(key)} "
            f"{'/'.join(keyed.iloc[first][key])}, expected one row per {'function' if 'HashFunction' in key else 'app'}"
        )
    return keyed
