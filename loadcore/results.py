"""The per-invocation results CSV that `invoker replay` writes and `loadgen report` reads.

One row per issued call, in completion order, UTF-8, LF, with this header (`COLUMNS`, the
fields of `ResultRow`):

| column | meaning |
|---|---|
| `unit` | index of the load.json unit (0-based, warm-up units included) |
| `phase` | `warmup` or `measure` |
| `endpoint` | the load.json endpoint (host, no scheme, no port) |
| `invocation_id` | UUID of this call (also sent in vHiveMetadata); unique across workers |
| `scheduled_us` | when the call was due, µs from the run's start instant t0 |
| `sent_us` | when the call was handed to gRPC, µs from t0 |
| `lag_us` | `sent_us - scheduled_us`: the invoker's own lateness |
| `latency_us` | reply time minus `sent_us` (the classic, coordinated-omission-prone view) |
| `latency_from_schedule_us` | reply time minus `scheduled_us` (free of coordinated omission) |
| `status` | `OK` or the gRPC status code name (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, ...) |
| `error` | the error detail, empty when OK |
| `service_us` | service time the function reported in its reply, empty if none |
| `instance` | the function instance that served the call, as its reply named it (`invoker emulate`: `<service>-<n>`); empty when unknown |
| `cold` | `true` when the call paid its instance's cold start, `false` when it did not, empty when unknown (vSwarm relays report nothing) |

All times are integers. Failed calls have latencies too (time until the failure was known).
The columns from `service_us` on come from the reply (`REPLY_COLUMNS`): the protocol that
sent the call reads them, and the reply's trailing metadata may name the instance and the
cold start (`invoker.protocols`). Files written before `instance` and `cold` existed are read
with both empty (`OPTIONAL_COLUMNS`).

`ResultsWriter` streams rows so that the file on disk is a readable CSV at every moment.
`ResultsChunks` reads a file back in blocks of complete records, each a validated DataFrame,
in bounded memory. Records may be quoted and span lines (gRPC error details). Problems raise
`InputError` naming the file, the line (1 = header) and the column. The one tolerated defect
is an unterminated last record, which an interrupted run can leave: it is left out and
reported through `ResultsChunks.partial_last_line`.
"""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from loadcore.csvrecords import check_field_counts, unquoted
from loadcore.errors import InputError
from loadcore.files import AppendFile, open_input

if TYPE_CHECKING:  # the reader's tables; the invoker's processes only write rows and import no pandas
    import pandas as pd


class ResultRow(NamedTuple):
    """One issued call, as the dispatcher makes it and the writer and statistics take it."""

    unit: int
    phase: str
    endpoint: str
    invocation_id: str
    scheduled_us: int
    sent_us: int
    lag_us: int
    latency_us: int
    latency_from_schedule_us: int
    status: str
    error: str
    service_us: int | str
    instance: str
    cold: str


COLUMNS = ResultRow._fields
REPLY_COLUMNS = ("service_us", "instance", "cold")
NO_VALUE = ""
"""What a reply column holds when the reply carries no value."""
COLD_TRUE, COLD_FALSE = "true", "false"
COLD_VALUES = (COLD_TRUE, COLD_FALSE, NO_VALUE)
OPTIONAL_COLUMNS = ("instance", "cold")
"""Columns a results file may lack (written before they existed); read as empty."""
INTEGER_COLUMNS = ("unit", "scheduled_us", "sent_us", "lag_us", "latency_us", "latency_from_schedule_us")
OPTIONAL_INTEGER_COLUMNS = ("service_us",)
TEXT_COLUMNS = ("phase", "endpoint", "invocation_id", "status", "error", "instance", "cold")
REQUIRED_TEXT = ("phase", "endpoint", "invocation_id", "status")

PHASE_WARMUP = "warmup"
PHASE_MEASURE = "measure"
PHASES = (PHASE_WARMUP, PHASE_MEASURE)
STATUS_OK = "OK"
BLOCK_BYTES = 8 * 1024 * 1024


class ResultsWriter:
    """Streams rows to the results CSV (and optionally the old vSwarm latency file) as they come.

    Each batch goes out in one `os.write` of complete lines, so the file on disk is a readable
    CSV at every moment. If a write fails (a full disk), the file is cut back to its last
    complete line, writing stops, and `error` / `rows_lost` tell what happened; the run goes on.

    The vSwarm file (`vswarm_lat`) has one integer per line, the latency in µs of each
    measured-phase call that succeeded, in completion order (the old invoker also wrote
    failures there as latencies; we do not).
    """

    def __init__(self, path: Path, vswarm_lat: Path | None = None) -> None:
        self.path = path
        self.rows_written = 0
        self.rows_lost = 0
        self.error: str | None = None
        self._files = {"results": AppendFile(path, "results")}
        if vswarm_lat is not None:
            self._files["vswarm"] = AppendFile(vswarm_lat, "results")
        self._write("results", ",".join(COLUMNS) + "\n")

    def write(self, rows: list[ResultRow]) -> None:
        """Append rows."""
        if not rows:
            return
        if self.error is not None:
            self.rows_lost += len(rows)
            return
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        if self._write("results", text.getvalue()):
            self.rows_written += len(rows)
        else:
            self.rows_lost += len(rows)
        if "vswarm" in self._files:
            latencies = [f"{row.latency_us}\n" for row in rows if row.phase == PHASE_MEASURE and row.status == STATUS_OK]
            self._write("vswarm", "".join(latencies))

    def _write(self, name: str, text: str) -> bool:
        file = self._files[name]
        if file.failed is None and file.append(text.encode()):
            return True
        if self.error is None:
            self.error = f"{file.path}: {file.failed}; the file ends at the last row written in full"
        return False

    def close(self) -> None:
        for file in self._files.values():
            file.close()


class ResultsChunks:
    """Iterate over a results file as validated DataFrames of at most one block each.

    Each DataFrame has the integer columns as int64, the optional integer columns
    (`service_us`) as float64 (NaN when empty) and the text columns as strings. After the iteration, `rows` is the number of
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

    def __iter__(self) -> "Iterator[pd.DataFrame]":
        with open_input(self.path) as file:
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

    def _header(self, file) -> list[str]:
        raw = file.readline()
        self.bytes_read += len(raw)
        if not raw.endswith(b"\n"):
            raise InputError(f"{self.path}: line 1: no complete header line, expected {','.join(COLUMNS)}")
        try:
            header = next(csv.reader([raw.decode("utf-8-sig").rstrip("\r\n")]))
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: line 1: not UTF-8 text, expected a results CSV header") from None
        missing = [column for column in COLUMNS if column not in header and column not in OPTIONAL_COLUMNS]
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

    def _parse(self, block: bytes, header: list[str], first_line: int, starts: np.ndarray) -> "pd.DataFrame":
        import pandas as pd

        try:
            table = pd.read_csv(
                io.BytesIO(block),
                header=None,
                names=header,
                usecols=[column for column in COLUMNS if column in header],
                dtype={column: str for column in TEXT_COLUMNS},
                keep_default_na=False,
                na_values={column: [""] for column in OPTIONAL_INTEGER_COLUMNS},
                encoding="utf-8",
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            message = re.sub(r"\s+", " ", str(err)).strip()
            raise InputError(f"{self.path}: unreadable CSV after line {first_line - 1} ({message})") from None

        def line_of(row: int) -> int:
            return first_line + block[: starts[row]].count(b"\n")

        for column in OPTIONAL_COLUMNS:
            if column not in table:
                table[column] = NO_VALUE
        for column in INTEGER_COLUMNS:
            table[column] = _integers(self.path, table[column], column, line_of, allow_missing=False)
        for column in OPTIONAL_INTEGER_COLUMNS:
            table[column] = _integers(self.path, table[column], column, line_of, allow_missing=True)
        for column in REQUIRED_TEXT:
            empty = (table[column] == "").to_numpy()
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise InputError(f"{self.path}: line {line_of(row)}, column {column!r}: empty, expected a value")
        for column, allowed, expected in (("phase", PHASES, " or ".join(PHASES)),
                                          ("cold", COLD_VALUES, f"{COLD_TRUE}, {COLD_FALSE} or empty")):
            wrong = ~table[column].isin(allowed).to_numpy()
            if wrong.any():
                row = int(np.flatnonzero(wrong)[0])
                raise InputError(
                    f"{self.path}: line {line_of(row)}, column {column!r}: {table[column].iloc[row]!r}, expected {expected}"
                )
        return table


def _last_record_end(buffer: bytes) -> int:
    """Offset just after the last newline that is outside quotes (0 if none)."""
    newlines = unquoted(np.frombuffer(buffer, dtype=np.uint8), "\n")
    return int(newlines[-1]) + 1 if newlines.size else 0


def _integers(path: Path, values: "pd.Series", column: str, line_of, allow_missing: bool) -> np.ndarray:
    """A column as int64 (float64 with NaN for empty cells when `allow_missing`)."""
    import pandas as pd

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
