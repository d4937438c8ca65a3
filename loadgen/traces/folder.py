"""Traces of counts in three files: invocations, durations and memory.

Three ways of naming the files, each found by `find_sets`:

| layout | invocations | durations | memory |
|---|---|---|---|
| `azure2019` (today's folder, invitro since 2022-11, `loadgen sample`) | `invocations.csv` (or the one `invocations*.csv`) | `durations.csv` (`*durations*.csv`) | `memory.csv` (`*memory*.csv`) |
| `azure2019`, the official 14-day download | `invocations_per_function_md.anon.dNN.csv` | `function_durations_percentiles.anon.dNN.csv` | `app_memory_percentiles.anon.dNN.csv`, days 1-12 only |
| `invitro2022` (invitro's samples of 2022) | `<prefix>_inv.csv` | `<prefix>_run.csv` | `<prefix>_mem.csv` |

Columns are found by name, case-insensitively, in any order (UTF-8 with or without BOM, LF or
CRLF):

- invocations: `HashOwner, HashApp, HashFunction`, `Trigger` (may be empty; invitro2022
  has no such column, its triggers are empty), and one count column per unit: the headers that are whole numbers (`1` ...
  `1440`) or `minute_N` (invitro2022), in file order.  A unit is a minute, or a second
  with `granularity="second"` (converters write those).  Only the count columns of the
  window asked for are read and checked.
- durations, ms: `HashOwner, HashApp, HashFunction, percentile_Average_{0,1,25,50,75,99,100}`
  (`Average, Count, Minimum, Maximum` are kept when present and may be empty).
- memory, MB: `HashOwner, HashApp, AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}`, either per
  function (13 columns, with `HashFunction`, as invitro's sampler and the vSwarm sample trace
  write it) or per application (12 columns, the official files and invitro2022).

Per-application memory: **every function of the app gets the app's whole memory**, not a
share of it.  Azure runs all functions of an app in the same instance, so the app's committed
memory is the footprint an instance serving any of its functions has; dividing it among the
functions (invitro's sampler) would make functions of big apps look tiny and map them to
the smallest proxies, and would make a function's memory depend on which of its app's
functions happen to be in a sample.

The official download: `day` picks the dNN files; with several days and no `day`, an error
lists them.  Memory exists for days 1-12 only: `memory_day` takes the apps' memory from
another day (for day 13 or 14 it is required).

Functions are keyed by (HashOwner, HashApp, HashFunction): the hashes are salted per column,
so a function name alone is not unique across apps.  The trace keeps the invocation file's
order.  A function missing from the durations or memory file is skipped and counted
(`Trace.skipped`); with `strict=True` it is an error.  Every other problem (missing file or
column, empty file, ragged row, undecodable bytes, non-numeric, negative or empty number,
a count no replay could issue, duplicate function) raises `InputError` naming the file,
line and column.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.csvfile import (
    canonical_names,
    count_matrix,
    line_of,
    number_column,
    read_columns,
    read_csv,
    read_header,
    require_columns,
    text_column,
)
from loadcore.errors import InputError
from loadgen.traces.model import (
    DURATION_COLUMNS,
    DURATION_EXTRA,
    KEY,
    MEMORY_COLUMNS,
    MEMORY_EXTRA,
    Trace,
    Window,
    max_calls,
    over_limit,
)

ROLES = ("invocations", "durations", "memory")
PLAIN = {
    "invocations": ("invocations.csv", "invocations*.csv"),
    "durations": ("durations.csv", "*durations*.csv"),
    "memory": ("memory.csv", "*memory*.csv"),
}
OFFICIAL_STEMS = {
    "invocations": "invocations_per_function_md",
    "durations": "function_durations_percentiles",
    "memory": "app_memory_percentiles",
}
OFFICIAL = re.compile(r"^(invocations_per_function_md|function_durations_percentiles|app_memory_percentiles)\.anon\.d(\d\d)\.csv$")
INVITRO_SUFFIXES = {"invocations": "_inv.csv", "durations": "_run.csv", "memory": "_mem.csv"}
INVITRO = re.compile(r"^(.+)_(inv|run|mem)\.csv$")
DAYS = 14
MEMORY_DAYS = 12
_COUNT_HEADER = {"azure2019": re.compile(r"^\d+$"), "invitro2022": re.compile(r"^minute_\d+$")}


@dataclass
class FileSet:
    """The files of one layout found in a folder (`days` for the official download)."""

    format: str
    label: str
    files: list[Path]
    days: dict[int, dict[str, Path]] | None = None
    prefix: str | None = None


def official_name(role: str, day: int) -> str:
    return f"{OFFICIAL_STEMS[role]}.anon.d{day:02d}.csv"


def find_sets(directory: Path, paths: list[Path]) -> list[FileSet]:
    """Every three-file layout among `paths` (the files of `directory`)."""
    found = []
    days: dict[int, dict[str, Path]] = {}
    official = []
    for path in paths:
        match = OFFICIAL.match(path.name)
        if match:
            role = next(r for r, stem in OFFICIAL_STEMS.items() if stem == match.group(1))
            days.setdefault(int(match.group(2)), {})[role] = path
            official.append(path)
    if days:
        listed = ", ".join(str(day) for day in sorted(days))
        found.append(FileSet("azure2019", f"the official Azure 2019 day files (days {listed})", official, days=days))
    prefixes: dict[str, list[Path]] = {}
    for path in paths:
        match = INVITRO.match(path.name)
        if match:
            prefixes.setdefault(match.group(1), []).append(path)
    for prefix, files in sorted(prefixes.items()):
        found.append(FileSet("invitro2022", f"invitro's {prefix}_inv/_run/_mem.csv", files, prefix=prefix))
    claimed = set(official) | {p for files in prefixes.values() for p in files}
    plain = [p for p in paths if p not in claimed and any(p.match(pattern) for _, pattern in PLAIN.values())]
    if plain:
        found.append(FileSet("azure2019", f"the trace files {', '.join(p.name for p in sorted(plain))}", plain))
    return found


def resolve(directory: Path, found: FileSet, day: int | None, memory_day: int | None) -> tuple[dict[str, Path], int | None, int | None]:
    """The invocations, durations and memory files of `found`, with the day and memory day used."""
    if found.days is None and (day is not None or memory_day is not None):
        option = "--day" if day is not None else "--memory-day"
        raise InputError(f"{directory}: {option} picks one of the official Azure 2019 day files, but the folder holds {found.label}")
    if found.prefix is not None:
        return _invitro_files(directory, found.prefix), None, None
    if found.days is not None:
        return _official_files(directory, found.days, day, memory_day)
    return _plain_files(directory), None, None


def _plain_files(directory: Path) -> dict[str, Path]:
    files = {}
    for role, (plain, pattern) in PLAIN.items():
        if (directory / plain).is_file():
            files[role] = directory / plain
            continue
        matches = sorted(p for p in directory.glob(pattern) if not OFFICIAL.match(p.name))
        if len(matches) != 1:
            found = "none" if not matches else ", ".join(m.name for m in matches)
            raise InputError(f"{directory}: expected one {role} file ({plain} or {pattern}), found {found}")
        files[role] = matches[0]
    return files


def _invitro_files(directory: Path, prefix: str) -> dict[str, Path]:
    files = {role: directory / f"{prefix}{suffix}" for role, suffix in INVITRO_SUFFIXES.items()}
    for role, path in files.items():
        if not path.is_file():
            raise InputError(f"{directory}: invitro's sample {prefix} has no {role} file, expected {path.name}")
    return files


def _official_files(
    directory: Path, days: dict[int, dict[str, Path]], day: int | None, memory_day: int | None
) -> tuple[dict[str, Path], int, int]:
    listed = ", ".join(str(d) for d in sorted(days))
    if day is None:
        if len(days) > 1:
            raise InputError(f"{directory}: the official Azure 2019 files of days {listed}; pick one with --day N")
        day = next(iter(days))
    for role in ("invocations", "durations"):
        if role not in days.get(day, {}):
            raise InputError(f"{directory}: no {role} file for day {day} ({official_name(role, day)}); days found: {listed}")
    if memory_day is None:
        if day > MEMORY_DAYS:
            raise InputError(
                f"{directory}: day {day} has no memory file: the Azure 2019 trace has memory for days 1-{MEMORY_DAYS} "
                "only; take the apps' memory from one of those days with --memory-day M"
            )
        memory_day = day
    if memory_day > MEMORY_DAYS:
        raise InputError(f"--memory-day {memory_day}: the Azure 2019 trace has memory for days 1-{MEMORY_DAYS} only")
    memory = days.get(memory_day, {}).get("memory")
    if memory is None:
        with_memory = ", ".join(str(d) for d in sorted(days) if "memory" in days[d]) or "none"
        raise InputError(
            f"{directory}: no memory file for day {memory_day} ({official_name('memory', memory_day)}); days with memory: "
            f"{with_memory} (--memory-day M takes the apps' memory from day M)"
        )
    return {"invocations": days[day]["invocations"], "durations": days[day]["durations"], "memory": memory}, day, memory_day


def count_columns(path: Path, trace_format: str) -> tuple[list[str], list[str]]:
    """The header and, in file order, the count columns of an invocations file."""
    header = read_header(path)
    units = [cell for cell in header if _COUNT_HEADER[trace_format].match(cell)]
    if not units:
        expected = "unit numbers (e.g. 1 ... 1440)" if trace_format == "azure2019" else "minute_1 ... minute_1440"
        raise InputError(f"{path}: line 1: no count columns, expected headers that are {expected}")
    return header, units


def read_folder(
    files: dict[str, Path], trace_format: str, granularity: str, strict: bool, window: Window | None
) -> Trace:
    """Read, validate and join the three files; counts only for `window` (all when None)."""
    invocations, counts, units, first = _read_invocations(files["invocations"], trace_format, granularity, window)
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
    counts = counts if kept.all() else counts[kept]
    return Trace(functions, counts, units, granularity, files, trace_format, first_unit=first, skipped=skipped)


def _read_invocations(
    path: Path, trace_format: str, granularity: str, window: Window | None
) -> tuple[pd.DataFrame, np.ndarray, list[str], int]:
    header, units = count_columns(path, trace_format)
    window = window or Window(0, len(units), "of the whole trace")
    window.check(path, len(units), granularity)
    names = canonical_names(header, (*KEY, "Trigger"))
    trigger = ["Trigger"] if trace_format == "azure2019" or "Trigger" in names else []
    wanted = units[window.start : window.end]
    table = read_columns(path, [name for name in (*KEY, *trigger) if name in names] + wanted, (), (*KEY, "Trigger"))
    require_columns(path, table, [*KEY, *trigger])
    functions = _keyed(path, table, KEY, [])
    functions["Trigger"] = table["Trigger"].fillna("").astype(str).to_numpy() if trigger else ""
    counts = count_matrix(path, table, wanted, max_calls(granularity), over_limit(granularity))
    return functions, counts, units, window.start


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
