"""Turn per-unit invocation counts into timestamped invocations, written as `load.json`
(`loadcore.loadfile`).

Every unit of every function holds exactly the trace's count: calls that land on the same
microsecond are all kept (ties are ordered by trace function), where vSwarm's generator keyed
calls by their µs and lost the collisions.

Inter-arrival modes, for a function with n calls in a unit (x = position in the unit, [0, 1)):

- `exponential`: a Poisson process conditioned on n calls, i.e. n independent uniform
  instants, sorted (exponential gaps).  vSwarm's "uniform" is this distribution; its
  "exponential" front-loaded every unit and is not offered.
- `uniform`: uniform *gaps* (invitro): n + 1 gaps drawn from U(0, 1) and scaled to fill the
  unit, calls at the first n partial sums; more regular than Poisson.
- `equidistant`: x = i / n, i = 0 ... n - 1.
- `trace` (a per-invocation trace only, its default): every call at its own start, exact to
  the µs, re-based to its unit (`write_trace_calls`).

`shift` rotates every function's calls by its own random phase φ (drawn once per function,
the same in every unit): x -> (x + φ) mod 1.  It moves first calls off the unit start, where
without it every active function fires at offset 0 with `equidistant` (and at the start of
the unit with invitro's unshifted modes).  For `equidistant` the calls stay exactly 1/n of a
unit apart, also across unit boundaries while n is unchanged; for `exponential` the
distribution is unchanged (rotation-invariant), only the draw differs.

Offsets are x × unit truncated to whole µs.  Each unit draws from its own random stream,
identified by (seed, trace column), so the same seed gives byte-identical files, and a unit's
calls do not depend on where the window starts.

`rate_scale` F (`scale_counts`, `scale_calls`): every function's count c in a unit becomes
F·c rounded down or up at random, up with probability the fraction (so the expected total is
exactly F times the trace's), from streams identified by (seed, trace column) as above; with
`trace` call times, the kept calls are each of the unit's calls ⌊c'/c⌋ times plus c' mod c of
them drawn uniformly.

Calls of synthetic functions also carry the runtime and memory they ask for (load.json's
payload lists), drawn from the trace's percentiles (`loadgen.synthetic`) in call order from
their own stream per unit, (seed, 4, trace column): the call times do not depend on them.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from loadcore.errors import InputError
from loadcore.loadfile import LoadStats, LoadWriter
from loadgen.synthetic import SyntheticCalls

SYNTHETIC_IATS = ("exponential", "uniform", "equidistant")
TRACE_IAT = "trace"
IAT_MODES = (*SYNTHETIC_IATS, TRACE_IAT)
DEFAULT_SEED = 42
_PHASE_STREAM = 0
_UNIT_STREAM = 1
_SCALE_STREAM = 2
_CALL_SPEC_STREAM = 4  # _SCALE_STREAM + 1 is scale_calls'


def phases(n_functions: int, seed: int) -> np.ndarray:
    """Each function's rotation for `shift`, as a fraction of the unit in [0, 1)."""
    return np.random.default_rng([seed, _PHASE_STREAM]).random(n_functions)


class UnitStreams:
    """Independent random streams per unit: unit c reads PCG64 substream c (2^64 draws long)
    of the stream seeded by (seed, `stream`).  Repositioning costs microseconds, where seeding a
    new generator per unit costs 0.1 ms (8 s for a day at second granularity)."""

    def __init__(self, seed: int, stream: int = _UNIT_STREAM):
        self._start = np.random.PCG64(np.random.SeedSequence([seed, stream])).state
        self._bits = np.random.PCG64()
        self._generator = np.random.Generator(self._bits)

    def __call__(self, trace_column: int) -> np.random.Generator:
        """The stream of the unit at `trace_column` (the generator object is reused)."""
        self._bits.state = self._start
        self._bits.advance(trace_column << 64)
        return self._generator


def positions(counts: np.ndarray, iat: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unshifted positions in [0, 1) of one unit's calls, grouped by function, and their function indices."""
    active = np.flatnonzero(counts)
    n = counts[active].astype(np.int64)
    total = int(n.sum())
    functions = np.repeat(active, n)
    if iat == "exponential":
        return rng.random(total), functions
    first = np.cumsum(n) - n
    rank = np.arange(total) - np.repeat(first, n)
    if iat == "uniform":
        gaps = rng.random(total + active.size)
        ends = np.cumsum(gaps)
        segment = first + np.arange(active.size)
        base = np.concatenate(([0.0], ends))[segment]
        length = ends[segment + n] - base
        return (ends[np.repeat(segment, n) + rank] - np.repeat(base, n)) / np.repeat(length, n), functions
    if iat == "equidistant":
        return rank / np.repeat(n, n), functions
    raise InputError(f"--iat {iat!r}: expected one of {', '.join(SYNTHETIC_IATS)}")


def unit_calls(
    counts: np.ndarray, iat: str, rng: np.random.Generator, unit_us: int, phase: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One unit's calls: µs offsets ascending and the function of each call (ties by function)."""
    x, functions = positions(counts, iat, rng)
    if phase is not None:
        x = (x + phase[functions]) % 1.0
    offsets = np.minimum((x * unit_us).astype(np.int64), unit_us - 1)
    bits = max(len(counts) - 1, 1).bit_length()
    keys = (offsets << bits) | functions
    keys.sort()
    return keys >> bits, keys & ((1 << bits) - 1)


def write_load(
    path: Path,
    counts: np.ndarray,
    endpoints: Sequence[str],
    unit_us: int,
    iat: str = "exponential",
    shift: bool = True,
    seed: int = DEFAULT_SEED,
    first_column: int = 0,
    on_unit: Callable[[], None] | None = None,
    synthetic: SyntheticCalls | None = None,
) -> LoadStats:
    """Write `load.json` for `counts` [functions, units] (trace columns `first_column` ...),
    calling function i at `endpoints[i]`, one unit at a time.  The calls of `synthetic`'s
    functions carry a runtime and memory drawn for each."""
    if len(endpoints) != counts.shape[0]:
        raise ValueError(f"{len(endpoints)} endpoints for {counts.shape[0]} functions")
    if iat not in SYNTHETIC_IATS:
        raise InputError(f"--iat {iat!r}: expected one of {', '.join(SYNTHETIC_IATS)}")
    phase = phases(counts.shape[0], seed) if shift else None
    streams, spec_streams = UnitStreams(seed), UnitStreams(seed, _CALL_SPEC_STREAM)
    with LoadWriter(path, endpoints) as writer:
        for unit in range(counts.shape[1]):
            offsets, functions = unit_calls(counts[:, unit], iat, streams(first_column + unit), unit_us, phase)
            payload = synthetic.payload(functions, spec_streams(first_column + unit)) if synthetic else None
            writer.write_unit(offsets, functions, payload)
            if on_unit:
                on_unit()
    return writer.stats


def write_trace_calls(
    path: Path,
    unit: np.ndarray,
    offset_us: np.ndarray,
    function: np.ndarray,
    endpoints: Sequence[str],
    units: int,
    on_unit: Callable[[], None] | None = None,
    synthetic: SyntheticCalls | None = None,
    seed: int = DEFAULT_SEED,
    first_column: int = 0,
    duration_us: np.ndarray | None = None,
) -> LoadStats:
    """Write `load.json` for calls given one by one: their unit in the window, µs offset in
    it and function (index into `endpoints`), sorted by unit; ties ordered by function.  The
    calls of `synthetic`'s functions carry a runtime (each call's own `duration_us` when
    given) and a memory drawn from the stream of their unit's trace column (`first_column` +
    unit)."""
    bits = max(len(endpoints) - 1, 1).bit_length()
    bounds = np.searchsorted(unit, np.arange(units + 1))
    spec_streams = UnitStreams(seed, _CALL_SPEC_STREAM)
    with LoadWriter(path, endpoints) as writer:
        for k in range(units):
            calls = slice(bounds[k], bounds[k + 1])
            keys = (offset_us[calls] << bits) | function[calls]
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            functions = keys & ((1 << bits) - 1)
            payload = None
            if synthetic:
                runtime_ms = None if duration_us is None else np.rint(duration_us[calls][order] / 1000).astype(np.int64)
                payload = synthetic.payload(functions, spec_streams(first_column + k), runtime_ms)
            writer.write_unit(keys >> bits, functions, payload)
            if on_unit:
                on_unit()
    return writer.stats


def scale_counts(counts: np.ndarray, factor: float, seed: int, first_column: int = 0) -> np.ndarray:
    """`counts` [functions, units] × `factor`, stochastically rounded per cell (see the module doc)."""
    streams = UnitStreams(seed, _SCALE_STREAM)
    scaled = np.empty_like(counts)
    for column in range(counts.shape[1]):
        exact = counts[:, column] * factor
        whole = np.floor(exact)
        scaled[:, column] = whole + (streams(first_column + column).random(exact.size) < exact - whole)
    return scaled


def scale_calls(
    unit: np.ndarray, function: np.ndarray, counts: np.ndarray, scaled: np.ndarray, seed: int, first_column: int = 0
) -> np.ndarray:
    """Indices of the calls (sorted by unit) to keep, repeated as often as kept, so that
    function f has `scaled[f, u]` calls in unit u where the trace has `counts[f, u]`."""
    functions, units = counts.shape
    cell = function * units + unit
    streams = UnitStreams(seed, _SCALE_STREAM + 1)
    draw = np.empty(unit.size)
    bounds = np.searchsorted(unit, np.arange(units + 1))
    for k in range(units):
        draw[bounds[k] : bounds[k + 1]] = streams(first_column + k).random(bounds[k + 1] - bounds[k])
    order = np.lexsort((draw, cell))
    first = np.searchsorted(cell[order], cell[order], side="left")
    rank = np.empty(unit.size, dtype=np.int64)
    rank[order] = np.arange(unit.size) - first
    have = counts.reshape(-1)[cell]
    want = scaled.reshape(-1)[cell]
    copies = want // np.maximum(have, 1) + (rank < want % np.maximum(have, 1))
    return np.repeat(np.arange(unit.size), copies)
