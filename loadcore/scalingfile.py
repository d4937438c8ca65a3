"""`scaling.csv`: how many instances each function had over a run, one row per change.

Two producers write it: `loadgen observe` (and `loadgen run --deploy knative`) from the Pods of
a run's Knative Services, seen through the Kubernetes watch API, and `invoker emulate
--scaling-out` from its scaling model (`invoker.scaling`). `loadgen report --scaling` reads
either. UTF-8, LF, comma-separated, this header, rows in time order:

| column | meaning |
|---|---|
| `time_us` | when the counts changed: Unix time in µs, the writer's wall clock |
| `function` | the Knative Service name (the first label of the endpoint the calls went to) |
| `ready` | pods whose `Ready` condition is `True` (emulator: instances started) |
| `pending` | pods created but not ready yet: scheduling, pulling, starting, failing probes (emulator: instances starting) |
| `terminating` | pods being deleted, still present (emulator: always 0, its instances go at once) |
| `created` | pods of the function created since the observation began (cumulative) |
| `deleted` | pods of the function gone since the observation began (cumulative) |

Every function starts with a row of its counts when the observation begins (`created` and
`deleted` 0), so a function without pods has a row saying so. A row is written whenever one
of the five counts of its function changes, with the counts after the change. Pods that have
finished (phase `Succeeded` or `Failed`) count in none of `ready`, `pending`, `terminating`.
"""

import csv
import io
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from loadcore.csvfile import number_column, read_csv, require_columns, text_column
from loadcore.files import AppendFile


class ScalingRow(NamedTuple):
    time_us: int
    function: str
    ready: int
    pending: int
    terminating: int
    created: int
    deleted: int


COLUMNS = ScalingRow._fields
COUNT_COLUMNS = ("ready", "pending", "terminating", "created", "deleted")


class ScalingWriter:
    """Writes rows as they come, each batch in one write of complete lines, so the file is
    current and readable during a run. A failed write (a full disk) is cut back off the file
    and stops the writing: `error` says why and how many rows the file lacks (`rows_lost`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows_written = 0
        self._file = AppendFile(self.path)
        self._file.append(",".join(COLUMNS) + "\n", 0)

    @property
    def error(self) -> str | None:
        return self._file.problem()

    @property
    def rows_lost(self) -> int:
        return self._file.lost

    def write(self, rows: list[ScalingRow]) -> None:
        if rows:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(rows)
            if self._file.append(text.getvalue(), len(rows)):
                self.rows_written += len(rows)

    def close(self) -> None:
        self._file.close()


def read_scaling(path: Path) -> pd.DataFrame:
    """The rows of a scaling.csv, checked, sorted by time (stable): `time_us` and the counts as
    int64, `function` as text. Extra columns are ignored."""
    table = read_csv(Path(path), COLUMNS[:1] + COUNT_COLUMNS, ("function",))
    require_columns(path, table, list(COLUMNS))
    checked = {"time_us": number_column(path, table, "time_us", integer=True), "function": text_column(path, table, "function")}
    for column in COUNT_COLUMNS:
        checked[column] = number_column(path, table, column, integer=True)
    return pd.DataFrame(checked, columns=list(COLUMNS)).sort_values("time_us", kind="stable", ignore_index=True)
