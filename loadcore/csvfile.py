"""Strict CSV reading shared by the trace, profile and mapping readers.

Every problem becomes an `InputError` naming the file, the line (1 = header) and the column,
so a bad trace never turns into a traceback or silently lost rows.  Columns are found by
name, case-insensitively and in any order; UTF-8 with or without BOM, LF or CRLF.
"""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.csvrecords import check_field_counts
from loadcore.errors import InputError
from loadcore.files import read_input


def read_csv(path: Path, known_columns: tuple[str, ...], text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read `path` into a DataFrame whose row i is line i + 2 of the file (see `line_of`).

    Header cells matching `known_columns` (or `text_columns`) case-insensitively are renamed
    to the spelling given there; `text_columns` are kept as strings, the other columns are
    parsed as numbers where possible.  Only empty cells are missing values (NaN); the text "NaN" stays text and fails numeric checks.
    """
    path = Path(path)
    data = read_input(path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: undecodable byte 0x{data[e.start]:02x}, expected UTF-8 text") from None
    data = data.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n\t ")
    if not data:
        raise InputError(f"{path}: empty file, expected a CSV header and rows")
    header = next(csv.reader([data.split(b"\n", 1)[0].rstrip(b"\r").decode()]))
    header = [cell.strip() for cell in header]
    _check_header(path, header)
    check_field_counts(path, data, len(header))
    canonical = {name.lower(): name for name in (*known_columns, *text_columns)}
    names = [canonical.get(cell.lower(), cell) for cell in header]
    try:
        table = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            header=0,
            names=names,
            dtype={name: str for name in names if name in text_columns},
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(f"{path}: unreadable CSV ({str(e).strip()})") from None
    if table.empty:
        raise InputError(f"{path}: no data rows after the header")
    return table


def line_of(row: int) -> int:
    """File line number of DataFrame row `row` (the header is line 1)."""
    return row + 2


def _check_header(path: Path, header: list[str]) -> None:
    seen = set()
    for position, cell in enumerate(header, start=1):
        if not cell:
            raise InputError(f"{path}: line 1, field {position}: empty column name")
        if cell.lower() in seen:
            raise InputError(f"{path}: line 1: column {cell!r} appears twice, expected unique column names")
        seen.add(cell.lower())


def require_columns(path: Path, table: pd.DataFrame, columns: list[str]) -> None:
    """Fail naming the first column of `columns` that the header lacks."""
    for column in columns:
        if column not in table.columns:
            raise InputError(f"{path}: missing column {column!r} in the header")


def text_column(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    """A string column with no empty cell (blank cells were read as NaN)."""
    values = table[column]
    empty = values.isna().to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise InputError(f"{path}: line {line_of(row)}, column {column!r}: empty, expected a value")
    return values


def number_column(path: Path, table: pd.DataFrame, column: str, *, integer: bool = False) -> np.ndarray:
    """A column of finite non-negative numbers (int64 if `integer`, else float64)."""
    values = table[column]
    expected = "a non-negative integer" if integer else "a non-negative number"
    if not pd.api.types.is_numeric_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{path}: line {line_of(row)}, column {column!r}: {values.iloc[row]!r} is not a number, expected {expected}"
            )
        values = converted
    array = values.to_numpy(dtype=np.float64)
    problems = [
        (np.isnan(array), "empty"),
        (~np.isfinite(array) & ~np.isnan(array), "{} is infinite"),
        (array < 0, "{} is negative"),
    ]
    if integer:
        problems.append((np.isfinite(array) & (array != np.floor(array)), "{} is not an integer"))
    for mask, what in problems:
        if mask.any():
            row = int(np.flatnonzero(mask)[0])
            shown = what.format(values.iloc[row])
            raise InputError(f"{path}: line {line_of(row)}, column {column!r}: {shown}, expected {expected}")
    return array.astype(np.int64) if integer else array


def count_matrix(path: Path, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The invocation counts as int64 [rows, columns]; every cell a non-negative integer."""
    counts = table[columns].to_numpy()
    if counts.dtype.kind in "iu" and (counts >= 0).all():
        return counts.astype(np.int64, copy=False)
    return np.column_stack([number_column(path, table, column, integer=True) for column in columns])
