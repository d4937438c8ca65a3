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
| `service_us` | service time the function reported in its reply (a synthetic function's `durationInMicroSec`), empty if none |
| `memory_usage_kb` | memory a synthetic function reported (`memoryUsageInKb`, KiB); empty for proxies |
| `instance` | the function instance that served the call, as its reply named it (`invoker emulate`: `<service>-<n>`; invitro's trace function: its pod's name); empty when unknown |
| `cold` | `true` when the call paid its instance's cold start, `false` when it did not, empty when unknown (vSwarm relays report nothing) |
| `requested_runtime_ms` | the runtime the call asked a synthetic function for (load.json `runtime_ms`); empty for proxies |
| `requested_memory_mib` | the memory it asked for (load.json `memory_mib`); empty for proxies |
| `run_id` | the run the row belongs to, the same on every worker of one run (`loadcore.runs`) |
| `shard` | `I/N`: the worker's share of the load (`--shard`, `loadcore.shards`); `1/1` for all of it |
| `host` | the worker's host name (or `--host-name`) |
| `t0_unix_us` | the worker's wall clock at t0, µs since the Unix epoch (with `--start-at`: that instant) |

All times are integers. Failed calls have latencies too (time until the failure was known).
The columns come in four groups: the call as the invoker saw it (`unit` to `error`), what the
reply said (`REPLY_COLUMNS`: `service_us` to `cold`), what the call asked for
(`PAYLOAD_COLUMNS`), and who wrote the row (`PROVENANCE_COLUMNS`, always last). The protocol
that sent the call reads the reply columns, and the reply's trailing metadata may name the
instance and the cold start (`invoker.protocols`). The payload columns follow
`loadcore.loadfile.PAYLOAD_FIELDS`. A synthetic function's reply that says its memory could not
be allocated (`FAILURE - mem_alloc`) is status `MEM_ALLOC_FAILURE` with the reply's text as
`error`. The provenance columns hold the same values in every row of one invoker run,
`--processes` children included; they are plain columns, not comment lines, so
`pandas.read_csv(path)` reads the file as it is.

The reader finds every column by its header name, so files written before a column existed
stay readable, with that column empty (NaN for integers): every file has the first 12
(`REQUIRED_COLUMNS`, the original format); a file from before synthetic functions lacks
`memory_usage_kb` and the `requested_` columns, one from before cold starts lacks `instance`
and `cold`, one from before run ids lacks the provenance columns.
The reader holds every row to what a replay can write: integers (no `1e20`, `inf` or `nan`),
none negative but `lag_us`, and a call due within its unit, `scheduled_us` of unit `u` in
[u·unit, (u + 1)·unit) for a second or a minute, within `MAX_RUN_US` of t0; a `shard` of
`I/N` with N ≤ `loadcore.shards.MAX_WORKERS`, a `run_id` as `loadcore.runs` makes them (or
empty, in older files) and a `t0_unix_us` before the year 10000; anything else is an `InputError` naming the line, never a value the
statistics would silently clip or a worker the report would make up.

`ResultsWriter` streams rows so that the file on disk is a readable CSV at every moment.
`ResultsChunks` reads a file back in blocks of complete records, each a validated DataFrame,
in bounded memory. Records may be quoted and span lines (gRPC error details). Problems raise
`InputError` naming the file, the line (1 = header) and the column. The one tolerated defect
is an unterminated last line, which an interrupted run or a copy taken while it ran can leave:
it is left out and reported through `ResultsChunks.partial_last_line`. An unterminated record
that spans lines is a quote opened by mistake, which would swallow the rest of the file: an
error naming the line it opens on.
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
from loadcore.runs import RUN_ID_FORM, is_run_id
from loadcore.shards import MAX_WORKERS
from loadcore.units import MAX_UNIX_US, UNIT_US

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
    memory_usage_kb: int | str
    instance: str
    cold: str
    requested_runtime_ms: int | str
    requested_memory_mib: int | str
    run_id: str
    shard: str
    host: str
    t0_unix_us: int


COLUMNS = ResultRow._fields
REQUIRED_COLUMNS = COLUMNS[:12]
REPLY_COLUMNS = ("service_us", "memory_usage_kb", "instance", "cold")
PAYLOAD_COLUMNS = ("requested_runtime_ms", "requested_memory_mib")
PROVENANCE_COLUMNS = ("run_id", "shard", "host", "t0_unix_us")
NO_VALUE = ""
"""What a reply or payload column holds when the call has no value for it."""
NO_PAYLOAD = (NO_VALUE,) * len(PAYLOAD_COLUMNS)
"""The payload columns of a call that carried none (a proxy's)."""
STATUS_MEM_ALLOC = "MEM_ALLOC_FAILURE"
COLD_TRUE, COLD_FALSE = "true", "false"
COLD_VALUES = (COLD_TRUE, COLD_FALSE, NO_VALUE)
INTEGER_COLUMNS = ("unit", "scheduled_us", "sent_us", "lag_us", "latency_us", "latency_from_schedule_us")
OPTIONAL_INTEGER_COLUMNS = ("service_us", "memory_usage_kb", "requested_runtime_ms", "requested_memory_mib", "t0_unix_us")
SIGNED_COLUMNS = ("lag_us",)
"""The only integer column that may be negative (a call sent before it was due)."""
MAX_RUN_US = 14 * 24 * 3600 * 1_000_000
"""The longest run a results file can describe: the 14 days of the longest Azure trace."""
TEXT_COLUMNS = ("phase", "endpoint", "invocation_id", "status", "error", "instance", "cold", "run_id", "shard", "host")
REQUIRED_TEXT = ("phase", "endpoint", "invocation_id", "status")
_SHARD = re.compile(r"(\d{1,5})/(\d{1,5})")


class Provenance(NamedTuple):
    """The `PROVENANCE_COLUMNS` of one invoker run, in that order."""

    run_id: str = ""
    shard: str = "1/1"
    host: str = ""
    t0_unix_us: int = 0


def parse_shard_label(label: str) -> tuple[int, int] | None:
    """(I, N) of a shard `I/N` with 1 ≤ I ≤ N ≤ `loadcore.shards.MAX_WORKERS` (the `shard`
    column, `--shard`); None if it is not one."""
    match = _SHARD.fullmatch(label)
    if match is None:
        return None
    index, count = int(match.group(1)), int(match.group(2))
    return (index, count) if 1 <= index <= count <= MAX_WORKERS else None

PHASE_WARMUP = "warmup"
PHASE_MEASURE = "measure"
PHASES = (PHASE_WARMUP, PHASE_MEASURE)
STATUS_OK = "OK"
BLOCK_BYTES = 8 * 1024 * 1024


class ResultsWriter:
    """Streams rows to the results CSV (and optionally the old vSwarm latency file) as they come.

    Each batch goes out in one `os.write` of complete lines, so the file on disk is a readable
    CSV at every moment. If a write fails (a full disk), that file is cut back to its last
    complete line and written no more, `error` says so and how much it lacks, and the run goes
    on; the other file, on a disk that still has room, keeps being written in full.

    The vSwarm file (`vswarm_lat`) has one integer per line, the latency in µs of each
    measured-phase call that succeeded, in completion order (the old invoker also wrote
    failures there as latencies; we do not).
    """

    def __init__(self, path: Path, vswarm_lat: Path | None = None) -> None:
        self.path = path
        self.rows_written = 0
        self._results = AppendFile(path, "row", "rows")
        self._vswarm = AppendFile(vswarm_lat, "latency", "latencies") if vswarm_lat is not None else None
        self._results.append(",".join(COLUMNS) + "\n", 0)

    @property
    def rows_lost(self) -> int:
        """Rows the results CSV lacks because writing it failed."""
        return self._results.lost

    @property
    def error(self) -> str | None:
        """What failed to be written, per file, or None."""
        files = (self._results, self._vswarm)
        return "; ".join(f.problem() for f in files if f is not None and f.failed is not None) or None

    def write(self, rows: list[ResultRow]) -> None:
        """Append rows."""
        if not rows:
            return
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        if self._results.append(text.getvalue(), len(rows)):
            self.rows_written += len(rows)
        if self._vswarm is not None:
            latencies = [f"{row.latency_us}\n" for row in rows if row.phase == PHASE_MEASURE and row.status == STATUS_OK]
            self._vswarm.append("".join(latencies), len(latencies))

    def close(self) -> None:
        for file in (self._results, self._vswarm):
            if file is not None:
                file.close()


class ResultsChunks:
    """Iterate over a results file as validated DataFrames of at most one block each.

    Each DataFrame has the integer columns as int64, the optional integer columns
    (`OPTIONAL_INTEGER_COLUMNS`) as float64 (NaN when empty or absent from the file) and the text columns as strings. After the iteration, `rows` is the number of
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
        self._absent: list[str] = []
        self._carry = b""

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
                spanned = self._carry.count(b"\n")
                if spanned:
                    raise InputError(
                        f"{self.path}: line {line}: a quoted field opens here and is never closed, taking in the "
                        f"{spanned} lines to the end of the file; expected '\"' only around a whole field"
                    )
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
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise InputError(
                f"{self.path}: line 1: missing column(s) {', '.join(missing)}; expected the invoker's "
                f"results header {','.join(COLUMNS)}"
            )
        self._absent = [column for column in COLUMNS if column not in header]
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
        self._unterminated, self._carry = bool(carry), carry

    def _parse(self, block: bytes, header: list[str], first_line: int, starts: np.ndarray) -> "pd.DataFrame":
        import pandas as pd

        try:
            table = pd.read_csv(
                io.BytesIO(block),
                header=None,
                names=header,
                usecols=[column for column in COLUMNS if column not in self._absent],
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

        for column in self._absent:
            table[column] = np.nan if column in OPTIONAL_INTEGER_COLUMNS else NO_VALUE
        for column in INTEGER_COLUMNS:
            table[column] = _integers(self.path, table[column], column, line_of, allow_missing=False)
        for column in OPTIONAL_INTEGER_COLUMNS:
            table[column] = _integers(self.path, table[column], column, line_of, allow_missing=True)
        _check_due_within_unit(self.path, table, line_of)
        after = table["t0_unix_us"].to_numpy() >= MAX_UNIX_US  # NaN (no t0 recorded) compares false
        if after.any():
            row = int(np.flatnonzero(after)[0])
            value = int(table["t0_unix_us"].iloc[row])
            raise InputError(f"{self.path}: line {line_of(row)}, column 't0_unix_us': {value}, expected Unix µs "
                             "before the year 10000")
        for column in REQUIRED_TEXT:
            empty = (table[column] == "").to_numpy()
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise InputError(f"{self.path}: line {line_of(row)}, column {column!r}: empty, expected a value")
        for column, valid, expected in (
            ("shard", parse_shard_label, f"I/N with 1 ≤ I ≤ N ≤ {MAX_WORKERS:,}"),
            ("run_id", is_run_id, f"a run id, {RUN_ID_FORM}"),
        ):
            for value in pd.unique(table[column]):  # one value per worker: checked once
                if value != NO_VALUE and not valid(value):
                    row = int(np.flatnonzero((table[column] == value).to_numpy())[0])
                    raise InputError(f"{self.path}: line {line_of(row)}, column {column!r}: {value!r}, expected "
                                     f"{expected}, or empty")
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
    """A column as int64 (float64 with NaN for empty cells when `allow_missing`): integers only,
    within int64, non-negative unless the column is in `SIGNED_COLUMNS`."""
    import pandas as pd

    if pd.api.types.is_integer_dtype(values) and values.dtype != np.uint64:
        array = values.to_numpy(dtype=np.int64)
        bad = array < 0 if column not in SIGNED_COLUMNS else np.zeros(array.size, dtype=bool)
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        array = numbers.to_numpy(dtype=np.float64)
        missing = np.isnan(array)
        bad = (missing & values.notna().to_numpy()) if allow_missing else missing
        with np.errstate(invalid="ignore"):
            bad |= ~missing & ~((array == np.floor(array)) & (np.abs(array) < 2.0**63))
            if column not in SIGNED_COLUMNS:
                bad |= array < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        expected = ("an integer" if column in SIGNED_COLUMNS else "a non-negative integer") + (
            " (µs)" if column.endswith("_us") else "")
        raise InputError(f"{path}: line {line_of(row)}, column {column!r}: "
                         f"{value.item() if isinstance(value, np.generic) else value!r}, expected {expected}")
    return array if allow_missing or array.dtype == np.int64 else array.astype(np.int64)


def due_within(table: "pd.DataFrame") -> dict[str, np.ndarray]:
    """By granularity name, which rows are due within their unit: u·unit ≤ scheduled_us < (u + 1)·unit."""
    unit, scheduled = table["unit"].to_numpy(), table["scheduled_us"].to_numpy()
    return {name: (scheduled >= unit * length) & (scheduled - unit * length < length) for name, length in UNIT_US.items()}


def _check_due_within_unit(path: Path, table: "pd.DataFrame", line_of) -> None:
    scheduled = table["scheduled_us"].to_numpy()
    late = scheduled >= MAX_RUN_US
    outside = late | ~np.logical_or.reduce(list(due_within(table).values()))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        where = (f"more than {MAX_RUN_US // 86_400_000_000} days after t0" if late[row]
                 else f"not within unit {table['unit'].iloc[row]}, neither in its second nor in its minute")
        raise InputError(f"{path}: line {line_of(row)}, column 'scheduled_us': {scheduled[row]} is {where}")
