"""Strict CSV reading shared by the trace, profile and mapping readers.

Every problem becomes an `InputError` naming the file, the line (1 = header) and the column,
so a bad trace never turns into a traceback or silently lost rows.  Columns are found by
name, case-insensitively and in any order; UTF-8 with or without BOM, LF or CRLF.

`read_columns` reads only some columns of a big file (a trace day is 146 MB, of which
`generate` needs 26 columns) with pyarrow's multithreaded CSV reader; whenever that finds
anything unusual it hands over to the strict reader, so errors read the same either way.
"""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loadcore.csvrecords import check_field_counts
from loadcore.errors import InputError
from loadcore.files import open_input, read_input


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
    header = _parse_header(path, data.split(b"\n", 1)[0])
    check_field_counts(path, data, len(header))
    names = canonical_names(header, (*known_columns, *text_columns))
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


def canonical_names(header: list[str], known: tuple[str, ...]) -> list[str]:
    """`header` with the cells matching `known` case-insensitively spelled as there."""
    canonical = {name.lower(): name for name in known}
    return [canonical.get(cell.lower(), cell) for cell in header]


def read_header(path: Path) -> list[str]:
    """The checked header cells of a CSV file, reading no more than its first line."""
    path = Path(path)
    with open_input(path) as source:
        first = source.readline()
    first = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n\t ")
    if not first:
        raise InputError(f"{path}: empty file, expected a CSV header and rows")
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: line 1: undecodable byte 0x{first[e.start]:02x}, expected UTF-8 text") from None
    return _parse_header(path, first)


def read_columns(
    path: Path, columns: list[str], known_columns: tuple[str, ...], text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """`read_csv(path, known_columns, text_columns)[columns]`, reading only those columns.

    `columns` are canonical names (as `canonical_names` spells them) of the file's header.
    The fast path takes the columns as pyarrow parses them when every numeric one is a
    number column without an empty cell and every text one has no empty cell; any other
    file (ragged, blank or undecodable lines, empty cells, text in numbers) goes through
    `read_csv`, whose checks name the line and column.
    """
    path = Path(path)
    header = read_header(path)
    names = canonical_names(header, (*known_columns, *text_columns))
    actual = dict(zip(names, header))
    text_types = {actual[name]: pa.string() for name in columns if name in text_columns}
    table = read_arrow(path, [actual[name] for name in columns], text_types)
    if table is None or table.num_rows == 0 or not all(_clean(table.column(actual[n]), n in text_columns) for n in columns):
        return read_csv(path, known_columns, text_columns)[columns]
    frame = pd.DataFrame({name: table.column(actual[name]).to_numpy(zero_copy_only=False) for name in columns})
    return frame.astype({name: str for name in columns if name in text_columns})


def read_arrow(path: Path, columns: list[str], types: dict[str, "pa.DataType"]) -> "pa.Table | None":
    """`columns` (header cells as written) of a CSV file as pyarrow parses them, `types` forced
    where given and only empty cells null; None when pyarrow cannot parse the file (a ragged
    row, a value of the wrong type), for the strict reader to explain."""
    try:
        reader = pacsv.open_csv(
            path,
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types=types, null_values=[""], strings_can_be_null=True
            ),
        )
        return pa.Table.from_batches(list(reader), schema=reader.schema)
    except (pa.ArrowInvalid, OSError):
        return None


def _clean(column: "pa.ChunkedArray", text: bool) -> bool:
    """True when pyarrow read `column` as the strict reader would: no empty cell, numbers as numbers."""
    if column.null_count:
        return False
    if text:
        return True
    if pa.types.is_integer(column.type):
        return True
    return pa.types.is_floating(column.type) and not pc.any(pc.is_nan(column)).as_py()


def line_of(row: int) -> int:
    """File line number of DataFrame row `row` (the header is line 1)."""
    return row + 2


def _parse_header(path: Path, line: bytes) -> list[str]:
    header = [cell.strip() for cell in next(csv.reader([line.rstrip(b"\r").decode()]))]
    _check_header(path, header)
    return header


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


def number_column(
    path: Path, table: pd.DataFrame, column: str, *, integer: bool = False, at_most: int | None = None, limit: str = ""
) -> np.ndarray:
    """A column of finite non-negative numbers (int64 if `integer`, else float64), none above
    `at_most` when given (`limit` says why, e.g. what a replay can issue)."""
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
    expected = f", expected {expected}"
    problems = [
        (np.isnan(array), "empty" + expected),
        (~np.isfinite(array) & ~np.isnan(array), "{} is infinite" + expected),
        (array < 0, "{} is negative" + expected),
    ]
    if integer:
        problems.append((np.isfinite(array) & (array != np.floor(array)), "{} is not an integer" + expected))
    if at_most is not None:
        problems.append((np.isfinite(array) & (array > at_most), "{} is over " + f"{at_most:,}, {limit}"))
    for mask, what in problems:
        if mask.any():
            row = int(np.flatnonzero(mask)[0])
            raise InputError(f"{path}: line {line_of(row)}, column {column!r}: {what.replace('{}', str(values.iloc[row]))}")
    return array.astype(np.int64) if integer else array


def count_matrix(path: Path, table: pd.DataFrame, columns: list[str], at_most: int, limit: str) -> np.ndarray:
    """The invocation counts as int64 [rows, columns]; every cell a non-negative integer of at
    most `at_most` (`limit` says why: a bigger count could not be replayed, nor held in memory)."""
    counts = table[columns].to_numpy()
    if not columns:
        return np.zeros((len(table), 0), dtype=np.int64)
    if counts.dtype.kind in "iu" and (counts >= 0).all() and counts.max(initial=0) <= at_most:
        return counts.astype(np.int64, copy=False)
    return np.column_stack(
        [number_column(path, table, column, integer=True, at_most=at_most, limit=limit) for column in columns]
    )
