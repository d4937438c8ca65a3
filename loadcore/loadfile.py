"""`load.json`: every invocation of a run, as written by `loadgen generate` and replayed by
`invoker replay`.

The file is exactly the vSwarm load-generator format, so existing invokers read it: a JSON
array with one object per unit (minute or second), warm-up units first,

    [{"timestamp": [µs offsets within the unit, ascending], "endpoint": ["<host>", ...]}, ...]

with the two lists parallel, offsets in [0, unit) restarting at 0 in each unit, hosts without
scheme or port. An empty unit is `{"timestamp": [], "endpoint": []}`. The old vSwarm Go
invoker decodes each unit into exactly these two lists and ignores other keys.

Optional per-call payload lists ride beside them, parallel to `timestamp`, one per name in
`PAYLOAD_FIELDS`: a non-negative integer for a call that carries the value, `null` for one that
does not. A unit whose calls carry none omits the lists. The protocol that sends a call reads
its payload (`invoker.protocols`); the endpoint's protocol is a registry name in
`Load.protocols`.

An endpoint's protocol is known from its calls, so the file keeps the vSwarm shape: an endpoint
whose calls carry `runtime_ms` is a synthetic function (`SYNTHETIC_PROTOCOL`, invitro's
faas.Executor, sent that runtime and the call's `memory_mib`); one whose calls carry none is a
proxy (`DEFAULT_PROTOCOL`, vSwarm's SayHello). Either all of an endpoint's calls carry a
runtime or none do, and `memory_mib` only comes with a runtime; anything else is an error.
The old vSwarm Go invoker reads such a file too, but speaks SayHello to every endpoint.

Reading (`read_load`) accepts our files and the old tool's: offsets may be ints or floats
(truncated to µs), must lie in [0, a minute) and need not be sorted; endpoints must be host
names (`loadcore.names.is_endpoint`); other keys are ignored. Anything else (a string, `true`
or a list for an offset, `null` or an object for an endpoint) is an `InputError` naming the
unit, the field and the value, never silently dropped or converted. Asked for the first units
only, it reads the file only up to them (`_first_units`), so a one-minute replay of a
day-long file does not parse the whole day. Writing (`LoadWriter`) streams
one unit at a time and makes the file appear complete or not at all.
"""

import hashlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import orjson
import pandas as pd

from loadcore import names
from loadcore.errors import InputError
from loadcore.files import open_input, output_error, read_input
from loadcore.units import UNIT_US

PAYLOAD_FIELDS = ("runtime_ms", "memory_mib")
"""Per-call values a protocol may need: the runtime (ms) and memory (MiB) a synthetic function
is asked to spend (invitro's faas.Executor request)."""
ABSENT = -1
"""A call's payload value when the file has none for it (`null`, or no list in its unit)."""
DEFAULT_PROTOCOL = "sayhello"
SYNTHETIC_PROTOCOL = "faas"
"""The protocol of an endpoint whose calls carry a `runtime_ms`."""
PENDING_WRITES = 2  # units encoded ahead of the disk
JOIN_CALLS = 1 << 16
"""Endpoints joined into one piece of a unit's list: a few MB, which the heap reuses for the
next piece (`loadcore.heap`), where a whole busy unit's list (33 MB for 550,000 calls) would
be mapped afresh for every unit."""
MAX_UNIT_US = max(UNIT_US.values())
"""Offsets lie within a unit: below a minute in µs (a second's are checked by `invoker.schedule`)."""
READ_BLOCK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Load:
    """The calls of the units read, as flat arrays in file order.

    `unit[i]`, `offset_us[i]` and `endpoint_index[i]` describe call i, and `payload[name][i]`
    its value of a payload field (`ABSENT` where it has none; every field of `PAYLOAD_FIELDS`
    when the file has any payload, none otherwise). `endpoints` lists the distinct endpoints in order of first appearance (the order
    `--shard` counts in) and `protocols` the protocol of each.
    """

    units: int
    unit: np.ndarray
    offset_us: np.ndarray
    endpoint_index: np.ndarray
    endpoints: tuple[str, ...]
    protocols: tuple[str, ...]
    payload: dict[str, np.ndarray] = field(default_factory=dict)

    def select(self, mask: np.ndarray) -> "Load":
        """The calls where `mask` is true, with the same units, endpoints and protocols."""
        return replace(self, unit=self.unit[mask], offset_us=self.offset_us[mask],
                       endpoint_index=self.endpoint_index[mask],
                       payload={name: values[mask] for name, values in self.payload.items()})

    def fingerprint(self) -> str:
        """A hash of the calls (unit, offset, endpoint, payload), endpoints and protocols: the
        same for the same calls however the file lays them out (spacing, float offsets)."""
        digest = hashlib.sha256(orjson.dumps([self.units, self.endpoints, self.protocols, sorted(self.payload)]))
        for values in (self.unit, self.offset_us, self.endpoint_index, *(self.payload[n] for n in sorted(self.payload))):
            digest.update(np.ascontiguousarray(values, dtype=np.int64).tobytes())
        return digest.hexdigest()


def read_load(path: Path, max_units: int | None = None) -> Load:
    """Parse and validate the first `max_units` units (all when None) of `path`."""
    doc = _document(path, max_units)
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON array of units, got a JSON {type(doc).__name__}")
    if not doc:
        raise InputError(f"{path}: no units (empty array)")
    units = doc if max_units is None else doc[:max_units]
    offsets, unit_numbers, names_ = [], [], []
    payload = {name: [] for name in PAYLOAD_FIELDS}
    for number, entry in enumerate(units):
        timestamps, endpoints = _unit_lists(path, number, entry)
        offsets.append(_offsets(path, number, timestamps))
        unit_numbers.append(np.full(len(timestamps), number, dtype=np.int32))
        names_.extend(endpoints)
        for name, values in payload.items():
            values.append(_payload(path, number, entry, name, len(timestamps)))
    codes, distinct = pd.factorize(pd.Series(names_, dtype=object), sort=False)
    for name in distinct:
        if not names.is_endpoint(name):
            raise InputError(f"{path}: unit {_first_unit_with(units, name)} field 'endpoint': {name!r}, expected a "
                             f"host name (letters, digits, '-' and '.'; no scheme, path or spaces), optionally :PORT")
    used = {}
    if any(v is not None for values in payload.values() for v in values):
        used = {
            name: np.concatenate([np.full(len(o), ABSENT, np.int64) if v is None else v for v, o in zip(values, offsets)])
            for name, values in payload.items()
        }
    unit = np.concatenate(unit_numbers) if unit_numbers else np.empty(0, np.int32)
    endpoint_index = codes.astype(np.int32)
    return Load(
        units=len(units),
        unit=unit,
        offset_us=np.concatenate(offsets) if offsets else np.empty(0, np.int64),
        endpoint_index=endpoint_index,
        endpoints=tuple(distinct),
        protocols=_protocols(path, unit, endpoint_index, tuple(distinct), used),
        payload=used,
    )


def _protocols(path: Path, unit: np.ndarray, endpoint_index: np.ndarray, endpoints: tuple, payload: dict) -> tuple[str, ...]:
    """Each endpoint's protocol, from whether its calls carry a runtime (see the module doc)."""
    if not payload:
        return (DEFAULT_PROTOCOL,) * len(endpoints)
    runtime = payload["runtime_ms"] != ABSENT
    stray = np.flatnonzero((payload["memory_mib"] != ABSENT) & ~runtime)
    if stray.size:
        call = stray[0]
        raise InputError(
            f"{path}: unit {unit[call]} field 'memory_mib': a value for a call to {endpoints[endpoint_index[call]]!r} "
            f"that has no 'runtime_ms'; expected memory only beside a runtime"
        )
    with_runtime = np.bincount(endpoint_index, weights=runtime, minlength=len(endpoints))
    mixed = np.flatnonzero((with_runtime > 0) & (with_runtime < np.bincount(endpoint_index, minlength=len(endpoints))))
    if mixed.size:
        calls = endpoint_index == mixed[0]
        carrying, bare = unit[calls & runtime][0], unit[calls & ~runtime][0]
        raise InputError(
            f"{path}: endpoint {endpoints[mixed[0]]!r}: a call in unit {carrying} carries 'runtime_ms' but a call in unit "
            f"{bare} does not; expected every call of an endpoint to carry one (a synthetic function) or none (a proxy)"
        )
    return tuple(SYNTHETIC_PROTOCOL if count else DEFAULT_PROTOCOL for count in with_runtime.tolist())


def _document(path: Path, max_units: int | None):
    """The parsed JSON of `path`, or when it holds more than `max_units` units, of a JSON array
    of just the first `max_units`, read no further than they go (`_first_units`)."""
    data, cut = _first_units(path, max_units)
    if cut:
        try:
            units = orjson.loads(data)
        except orjson.JSONDecodeError:
            units = None
        if isinstance(units, list) and len(units) == max_units:
            return units
        data = read_input(path)
    if not data.strip():
        raise InputError(f"{path}: empty file, expected a JSON array of units")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None


def _first_units(path: Path, max_units: int | None) -> tuple[bytes | bytearray, bool]:
    """(the whole file, False), or (a JSON array of its first `max_units` units, True) when
    it has more `}` than that.

    A unit is an object of lists of numbers, strings and nulls, so each one ends at its only
    `}`. The array is cut after the `max_units`-th `}` byte; had one of those been inside a
    string (or a unit held an object), the cut array would not parse to `max_units` elements,
    and `_document` reads the whole file instead.
    """
    if max_units is None or max_units <= 0:
        return read_input(path), False
    data, ends = bytearray(), 0
    with open_input(path) as file:
        while block := file.read(READ_BLOCK_BYTES):
            count = block.count(b"}")
            if ends + count >= max_units:
                cut = int(np.flatnonzero(np.frombuffer(block, np.uint8) == ord("}"))[max_units - ends - 1]) + 1
                data += block[:cut]
                data += b"]"
                return data, True
            ends += count
            data += block
    return data, False


def _unit_lists(path: Path, number: int, entry) -> tuple[list, list]:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: unit {number}: expected an object with 'timestamp' and 'endpoint' lists")
    for name in ("timestamp", "endpoint"):
        if not isinstance(entry.get(name), list):
            raise InputError(f"{path}: unit {number}: field '{name}' missing or not a list")
    timestamps, endpoints = entry["timestamp"], entry["endpoint"]
    if not set(map(type, endpoints)) <= {str}:
        bad = next(e for e in endpoints if type(e) is not str)
        raise InputError(f"{path}: unit {number} field 'endpoint': {bad!r}, expected host names (strings)")
    if len(timestamps) != len(endpoints):
        raise InputError(
            f"{path}: unit {number}: 'timestamp' has {len(timestamps)} entries but 'endpoint' has "
            f"{len(endpoints)}; expected parallel lists"
        )
    return timestamps, endpoints


def _offsets(path: Path, number: int, timestamps: list) -> np.ndarray:
    if not set(map(type, timestamps)) <= {int, float}:
        bad = next(t for t in timestamps if type(t) not in (int, float))
        raise InputError(f"{path}: unit {number} field 'timestamp': {bad!r}, expected µs offsets (numbers)")
    values = np.asarray(timestamps, dtype=np.float64)
    outside = ~((values >= 0) & (values < MAX_UNIT_US))  # also true for nan
    if outside.any():
        value = timestamps[int(np.flatnonzero(outside)[0])]
        if value < 0:
            raise InputError(f"{path}: unit {number} field 'timestamp': negative offset {value!r} µs")
        raise InputError(f"{path}: unit {number} field 'timestamp': offset {value!r} µs, expected one within "
                         f"the unit, below {MAX_UNIT_US} (a minute)")
    return values.astype(np.int64)


def _payload(path: Path, number: int, entry: dict, name: str, calls: int) -> np.ndarray | None:
    """A unit's values of one payload field (`ABSENT` for null), or None when it has no list."""
    values = entry.get(name)
    if values is None:
        return None
    expected = f"a list of {calls} non-negative integers or nulls, parallel to 'timestamp'"
    if not isinstance(values, list) or len(values) != calls:
        raise InputError(f"{path}: unit {number} field {name!r}: expected {expected}")
    for value in values:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InputError(f"{path}: unit {number} field {name!r}: {value!r}, expected {expected}")
    return np.array([ABSENT if value is None else value for value in values], dtype=np.int64)


def _first_unit_with(units: list, name) -> int:
    return next(n for n, entry in enumerate(units) if name in entry["endpoint"])


@dataclass(frozen=True)
class LoadStats:
    """What a written load.json holds."""

    units: int
    invocations: int
    busiest_unit: int
    bytes: int
    payload_calls: dict[str, int] = field(default_factory=dict)
    """How many calls carry each payload field (only fields some call carries)."""
    payload_max: dict[str, int] = field(default_factory=dict)
    """The largest value of each payload field written (only fields some call carries)."""


class LoadWriter:
    """Writes load.json one unit at a time, for calls to a fixed list of endpoints.

    A writer thread overlaps the disk writes with the caller's work on the next unit. The file
    is written beside its name (`<name>.partial`) and renamed when the writer is closed
    without an error, so it appears complete or not at all:

        with LoadWriter(path, endpoints) as writer:
            for offsets, functions in units:
                writer.write_unit(offsets, functions)
        writer.stats
    """

    def __init__(self, path: Path, endpoints: Sequence[str]) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._fragments = np.array([b"," + orjson.dumps(endpoint) for endpoint in endpoints], dtype=object)
        self._units = self._invocations = self._busiest = 0
        self._payload_calls: dict[str, int] = {}
        self._payload_max: dict[str, int] = {}
        self.stats: LoadStats | None = None

    def __enter__(self) -> "LoadWriter":
        self._writer = ThreadPoolExecutor(max_workers=1)
        self._pending: deque = deque()
        try:
            self._out = open(self.partial, "wb")
            self._submit((b"[",))  # starts the writer thread
        except BaseException as error:  # also a stop signal (loadcore.cli) here, for which no __exit__ runs
            self._writer.shutdown()
            if hasattr(self, "_out"):
                self._out.close()
            self.partial.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise output_error(self.path, error) from None
            raise
        return self

    def write_unit(self, offsets: np.ndarray, functions: np.ndarray, payload: dict[str, np.ndarray] | None = None) -> None:
        """One unit: µs offsets ascending, the endpoint index of each call, and optionally its
        payload values (`ABSENT` for none) by field name."""
        pieces = [b",\n" if self._units else b"", b'{"timestamp":',
                  orjson.dumps(offsets, option=orjson.OPT_SERIALIZE_NUMPY), b',"endpoint":[',
                  *self._endpoints_json(functions), b"]"]
        for name, values in (payload or {}).items():
            if name not in PAYLOAD_FIELDS:
                raise ValueError(f"{name!r} is not a load.json payload field")
            values = np.asarray(values, dtype=np.int64)
            pieces += [b',"', name.encode(), b'":', _payload_json(values)]
            carried = int(np.count_nonzero(values != ABSENT))
            if carried:
                self._payload_calls[name] = self._payload_calls.get(name, 0) + carried
                self._payload_max[name] = max(self._payload_max.get(name, ABSENT), int(values.max()))
        pieces.append(b"}")
        self._submit(pieces)
        self._units += 1
        self._invocations += len(offsets)
        self._busiest = max(self._busiest, len(offsets))

    def _endpoints_json(self, functions: np.ndarray) -> list:
        """The JSON of the endpoint list of `functions`, without its brackets, in pieces."""
        chunks = [b"".join(self._fragments[functions[start:start + JOIN_CALLS]].tolist())
                  for start in range(0, len(functions), JOIN_CALLS)]
        if chunks:
            chunks[0] = memoryview(chunks[0])[1:]
        return chunks

    def _submit(self, pieces) -> None:
        self._pending.append(self._writer.submit(self._out.writelines, pieces))
        if len(self._pending) > PENDING_WRITES:
            self._pending.popleft().result()

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if kind is None:
                self._submit((b"]\n",))
            for write in self._pending:
                write.result()
            size = self._out.tell()
            self._out.close()
            if kind is None:
                os.replace(self.partial, self.path)
                self.stats = LoadStats(self._units, self._invocations, self._busiest, size, self._payload_calls,
                                       self._payload_max)
                return
        except OSError as e:
            self._discard()
            raise InputError(f"{self.path}: cannot write ({e.strerror})") from None
        finally:
            self._writer.shutdown()
        self._discard()
        if issubclass(kind, OSError):
            raise InputError(f"{self.path}: cannot write ({error.strerror})") from None

    def _discard(self) -> None:
        self._out.close()
        self.partial.unlink(missing_ok=True)


def _payload_json(values: np.ndarray) -> bytes:
    """A payload list, `ABSENT` as null: the numbers are encoded as an array and each `-1` (the
    only text with a minus sign, values being non-negative) becomes `null`, 40x faster than
    building a list of Python objects."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and values.min() < ABSENT:
        raise ValueError(f"payload value {values.min()}: expected non-negative integers or ABSENT")
    text = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)
    return text.replace(b"-1", b"null") if values.size and values.min() == ABSENT else text
