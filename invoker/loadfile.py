"""Read a vSwarm-format load.json (ours from `loadgen generate`, or the old vSwarm tool's).

The file is a JSON array with one object per trace unit (minute or second):
`{"timestamp": [µs offsets within the unit], "endpoint": [host, ...]}`, the two lists parallel.
Other keys are ignored. Offsets may be ints or floats (truncated to µs) and need not be sorted;
anything else is an `InputError` naming the unit and field, never silently dropped.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from loadcore.errors import InputError


@dataclass(frozen=True)
class Load:
    """The calls of the units read, as flat arrays in file order.

    `unit[i]`, `offset_us[i]` and `endpoint_index[i]` describe call i; `endpoints` lists the
    distinct endpoints in order of first appearance (the order `--shard` counts in).
    """

    units: int
    unit: np.ndarray
    offset_us: np.ndarray
    endpoint_index: np.ndarray
    endpoints: tuple[str, ...]


def read_load(path: Path, max_units: int | None = None) -> Load:
    """Parse and validate the first `max_units` units (all when None) of `path`."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read load file ({err.strerror})") from None
    if not raw.strip():
        raise InputError(f"{path}: empty file, expected a JSON array of units")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON array of units, got a JSON {type(doc).__name__}")
    if not doc:
        raise InputError(f"{path}: no units (empty array)")
    units = doc if max_units is None else doc[:max_units]
    offsets, unit_numbers, names = [], [], []
    for number, entry in enumerate(units):
        timestamps, endpoints = _unit_lists(path, number, entry)
        offsets.append(_offsets(path, number, timestamps))
        unit_numbers.append(np.full(len(timestamps), number, dtype=np.int32))
        names.extend(endpoints)
    codes, distinct = pd.factorize(pd.Series(names, dtype=object), sort=False)
    for name in distinct:
        if not isinstance(name, str) or not name:
            where = _first_unit_with(units, name)
            raise InputError(f"{path}: unit {where} field 'endpoint': expected non-empty host names, got {name!r}")
    return Load(
        units=len(units),
        unit=np.concatenate(unit_numbers) if unit_numbers else np.empty(0, np.int32),
        offset_us=np.concatenate(offsets) if offsets else np.empty(0, np.int64),
        endpoint_index=codes.astype(np.int32),
        endpoints=tuple(distinct),
    )


def _unit_lists(path: Path, number: int, entry) -> tuple[list, list]:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: unit {number}: expected an object with 'timestamp' and 'endpoint' lists")
    for field in ("timestamp", "endpoint"):
        if not isinstance(entry.get(field), list):
            raise InputError(f"{path}: unit {number}: field '{field}' missing or not a list")
    timestamps, endpoints = entry["timestamp"], entry["endpoint"]
    if len(timestamps) != len(endpoints):
        raise InputError(
            f"{path}: unit {number}: 'timestamp' has {len(timestamps)} entries but 'endpoint' has "
            f"{len(endpoints)}; expected parallel lists"
        )
    return timestamps, endpoints


def _offsets(path: Path, number: int, timestamps: list) -> np.ndarray:
    try:
        values = np.asarray(timestamps, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(t for t in timestamps if not isinstance(t, (int, float)))
        raise InputError(f"{path}: unit {number} field 'timestamp': expected µs offsets, got {bad!r}") from None
    if not np.isfinite(values).all():
        raise InputError(f"{path}: unit {number} field 'timestamp': expected finite µs offsets")
    if values.size and values.min() < 0:
        raise InputError(f"{path}: unit {number} field 'timestamp': negative offset {values.min():.0f} µs")
    return values.astype(np.int64)


def _first_unit_with(units: list, name) -> int:
    return next(n for n, entry in enumerate(units) if name in entry["endpoint"])
