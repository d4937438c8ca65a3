"""Stream and validate invoker results CSVs (the format of `invoker.results`) in bounded memory.

A file is read in blocks of complete records (`BLOCK_BYTES`); each block is checked field by
field and parsed by pandas into a DataFrame with the `invoker.results.COLUMNS` (extra columns
are ignored). Records may be quoted and span lines (gRPC error details). Problems raise
`InputError` naming the file, the line (1 = header) and the column. The one tolerated defect
is an unterminated last record, which an interrupted run can leave: it is left out and
reported through `ResultsChunks.partial_last_line`.
"""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from invoker.results import COLUMNS, PHASE_MEASURE, PHASE_WARMUP
from loadcore.csvfile import check_field_counts, unquoted
from loadcore.errors import InputError

BLOCK_BYTES = 8 * 1024 * 1024
INTEGER_COLUMNS = ("unit", "scheduled_us", "sent_us", "lag_us", "latency_us", "latency_from_schedule_us")
TEXT_COLUMNS = ("phase", "endpoint", "invocation_id", "status", "error")
REQUIRED_TEXT = ("phase", "endpoint", "invocation_id", "status")
PHASES = (PHASE_WARMUP, PHASE_MEASURE)


class ResultsChunks:
    """Iterate over a results file as validated DataFrames of at most one block each.

    Each DataFrame has the integer columns as int64, `service_us` as float64 (NaN when
    empty) and the text columns as strings. After the iteration, `rows` is the number of
    records read and `partial_last_line` the line number of an ignored unterminated last
    record (None when the file ended cleanly).
    """

    def __init__(self, path: Path, block_bytes: int = BLOCK_BYTES) -> None:
        self.path = Path(path)
        self.block_bytes = block_bytes
        self.rows = 0
        self.bytes_read = 0
        self.partial_last_line: int | None = None
        self._unterminated = False

    def __iter__(self) -> Iterator[pd.DataFrame]:
        try:
            with open(self.path, "rb") as file:
                header = self._header(file)
                line = 2
                for block in self._blocks(file):
                    starts = check_field_counts(self.path, block, len(header), line)
                    table = self._parse(block, header, line, starts)
                    yield table
                    self.rows += len(table)
                    line += block.count(b"\n")
                if self._unterminated:
                    self.partial_last_line = line
        except FileNotFoundError:
            raise InputError(f"{self.path}: file not found") from None
        except OSError as err:
            raise InputError(f"{self.path}: cannot read ({err.strerror})") from None

    def _header(self, file) -> list[str]:
        raw = file.readline()
        self.bytes_read += len(raw)
        if not raw.endswith(b"\n"):
            raise InputError(f"{self.path}: line 1: no complete header line, expected {','.join(COLUMNS)}")
        try:
            header = next(csv.reader([raw.decode("utf-8-sig").rstrip("\r\n")]))
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: line 1: not UTF-8 text, expected a results CSV header") from None
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise InputError(
                f"{self.path}: line 1: missing column(s) {', '.join(missing)}; expected the invoker's "
                f"results header {','.join(COLUMNS)}"
            )
        return header

    def _blocks(self, file) -> Iterator[bytes]:
        """Blocks that end at a record boundary (a newline outside quotes)."""
        carry = b""
        while True:
            data = file.read(self.block_bytes)
            self.bytes_read += len(data)
            if not data:
                break
            buffer = carry + data
            end = _last_record_end(buffer)
            if end == 0:
                carry = buffer
                continue
            carry = buffer[end:]
            yield buffer[:end]
        self._unterminated = bool(carry)

    def _parse(self, block: bytes, header: list[str], first_line: int, starts: np.ndarray) -> pd.DataFrame:
        try:
            table = pd.read_csv(
                io.BytesIO(block),
                header=None,
                names=header,
                usecols=list(COLUMNS),
                dtype={column: str for column in TEXT_COLUMNS},
                keep_default_na=False,
                na_values={"service_us": [""]},
                encoding="utf-8",
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            message = re.sub(r"\s+", " ", str(err)).strip()
            raise InputError(f"{self.path}: unreadable CSV after line {first_line - 1} ({message})") from None

        def line_of(row: int) -> int:
            return first_line + block[: starts[row]].count(b"\n")

        for column in INTEGER_COLUMNS:
            table[column] = _integers(self.path, table[column], column, line_of, allow_missing=False)
        table["service_us"] = _integers(self.path, table["service_us"], "service_us", line_of, allow_missing=True)
        for column in REQUIRED_TEXT:
            empty = (table[column] == "").to_numpy()
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise InputError(f"{self.path}: line {line_of(row)}, column {column!r}: empty, expected a value")
        wrong_phase = ~table["phase"].isin(PHASES).to_numpy()
        if wrong_phase.any():
            row = int(np.flatnonzero(wrong_phase)[0])
            raise InputError(
                f"{self.path}: line {line_of(row)}, column 'phase': {table['phase'].iloc[row]!r}, "
                f"expected {' or '.join(PHASES)}"
            )
        return table


def _last_record_end(buffer: bytes) -> int:
    """Offset just after the last newline that is outside quotes (0 if none)."""
    newlines = unquoted(np.frombuffer(buffer, dtype=np.uint8), "\n")
    return int(newlines[-1]) + 1 if newlines.size else 0


def _integers(path: Path, values: pd.Series, column: str, line_of, allow_missing: bool) -> np.ndarray:
    """A column as int64 (float64 with NaN for empty cells when `allow_missing`)."""
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64)
    numbers = pd.to_numeric(values, errors="coerce")
    array = numbers.to_numpy(dtype=np.float64)
    missing = np.isnan(array)
    bad = (missing & values.notna().to_numpy()) if allow_missing else missing
    bad |= ~missing & (array != np.floor(array))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: line {line_of(row)}, column {column!r}: {values.iloc[row]!r}, expected an integer (µs)"
        )
    return array if allow_missing else array.astype(np.int64)
