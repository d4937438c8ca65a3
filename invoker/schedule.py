"""When each call is due: absolute deadlines from one start instant t0.

Unit k starts at t0 + k·unit and a call with offset o in unit k is due at t0 + k·unit + o, so
lateness never accumulates. The schedule is a set of flat numpy arrays sorted by due time,
which the dispatcher walks with one index. A worker's share (`--shard`, planned by
`loadcore.shards`) is cut from the load before the schedule is built; a local process's share
(`--processes`) is a sub-schedule of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from loadcore.errors import InputError
from loadcore.results import parse_shard_label
from loadcore.shards import MAX_WORKERS
from loadcore.units import UNIT_US

if TYPE_CHECKING:  # reading needs pandas; `--processes` children only need the schedule
    from loadcore.loadfile import Load



@dataclass(frozen=True)
class Schedule:
    """Calls sorted by `due_us` (µs from t0); `unit`, `endpoint_index` and each `payload` array
    are parallel to it. `endpoints` and `protocols` (a `invoker.protocols` name each) are per
    endpoint."""

    due_us: np.ndarray
    unit: np.ndarray
    endpoint_index: np.ndarray
    endpoints: tuple[str, ...]
    protocols: tuple[str, ...]
    unit_us: int
    warmup_units: int
    units: int
    payload: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.due_us)

    @property
    def measured_calls(self) -> int:
        """Calls scheduled in the measured phase (after the warm-up units)."""
        return int(np.count_nonzero(self.unit >= self.warmup_units))

    @property
    def measured_seconds(self) -> float:
        """Length of the measured phase as scheduled."""
        return max(self.units - self.warmup_units, 0) * self.unit_us / 1e6

    def select(self, mask: np.ndarray) -> "Schedule":
        """The calls where `mask` is true, same units and endpoints."""
        return replace(self, due_us=self.due_us[mask], unit=self.unit[mask], endpoint_index=self.endpoint_index[mask],
                       payload={name: values[mask] for name, values in self.payload.items()})


def build_schedule(path: Path, load: Load, granularity: str, warmup: int, units: int) -> Schedule:
    """Absolute due times of every call in the first `units` units of `load` (`path` for errors)."""
    unit_us = UNIT_US[granularity]
    late = np.flatnonzero(load.offset_us >= unit_us)
    if late.size:
        call = late[0]
        raise InputError(
            f"{path}: unit {load.unit[call]} field 'timestamp': offset {load.offset_us[call]} µs is not "
            f"within a {granularity} (< {unit_us}); wrong --granularity?"
        )
    due = load.unit.astype(np.int64) * unit_us + load.offset_us
    order = np.argsort(due, kind="stable")
    return Schedule(
        due_us=due[order],
        unit=load.unit[order],
        endpoint_index=load.endpoint_index[order],
        endpoints=load.endpoints,
        protocols=load.protocols,
        unit_us=unit_us,
        warmup_units=warmup,
        units=units,
        payload={name: values[order] for name, values in load.payload.items()},
    )


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 ≤ I ≤ N ≤ `loadcore.shards.MAX_WORKERS`) from the command line."""
    if "/" not in text:
        raise InputError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    shard = parse_shard_label(text.strip())
    if shard is None:
        raise InputError(f"--shard {text!r}: expected I/N with 1 ≤ I ≤ N ≤ {MAX_WORKERS:,}")
    return shard


def split(schedule: Schedule, parts: int) -> list[Schedule]:
    """`parts` interleaved shares of the calls for local processes, balanced call by call.

    Local processes share nothing, so an even call count matters more than keeping a function
    together (a single busy function must still spread over all cores).
    """
    position = np.arange(len(schedule))
    return [schedule.select(position % parts == part) for part in range(parts)]
