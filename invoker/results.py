"""The per-invocation results CSV that `invoker replay` writes and `loadgen report` reads.

One row per issued call, in completion order, UTF-8, LF, with this header:

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
| `service_us` | service time the function reported at the end of its reply, empty if none |

All times are integers. Failed calls have latencies too (time until the failure was known).
"""

import csv
import io
import os
from pathlib import Path

from loadcore.errors import InputError

COLUMNS = (
    "unit",
    "phase",
    "endpoint",
    "invocation_id",
    "scheduled_us",
    "sent_us",
    "lag_us",
    "latency_us",
    "latency_from_schedule_us",
    "status",
    "error",
    "service_us",
)

PHASE_WARMUP = "warmup"
PHASE_MEASURE = "measure"
STATUS_OK = "OK"


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
        self._files = {"results": _LineFile(path)}
        if vswarm_lat is not None:
            self._files["vswarm"] = _LineFile(vswarm_lat)
        self._write("results", ",".join(COLUMNS) + "\n")

    def write(self, rows: list[tuple]) -> None:
        """Append rows: tuples in `COLUMNS` order."""
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
            latencies = [f"{row[7]}\n" for row in rows if row[1] == PHASE_MEASURE and row[9] == STATUS_OK]
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


class _LineFile:
    """An append-only file that only ever holds complete writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed: str | None = None
        self._size = 0
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise InputError(f"{path}: cannot write results ({err.strerror})") from None

    def append(self, data: bytes) -> bool:
        """Write all of `data` or, on failure, cut the file back to before it and return False."""
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as err:
            self.failed = err.strerror
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            return False
        self._size += done
        return True

    def close(self) -> None:
        os.close(self._fd)
