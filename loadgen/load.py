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

`shift` rotates every function's calls by its own random phase φ (drawn once per function,
the same in every unit): x -> (x + φ) mod 1.  It moves first calls off the unit start, where
without it every active function fires at offset 0 with `equidistant` (and at the start of
the unit with invitro's unshifted modes).  For `equidistant` the calls stay exactly 1/n of a
unit apart, also across unit boundaries while n is unchanged; for `exponential` the
distribution is unchanged (rotation-invariant), only the draw differs.

Offsets are x × unit truncated to whole µs.  Each unit draws from its own random stream,
identified by (seed, trace column), so the same seed gives byte-identical files, and a unit's
calls do not depend on where the window starts.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from loadcore.errors import InputError
from loadcore.loadfile import LoadStats, LoadWriter

IAT_MODES = ("exponential", "uniform", "equidistant")
DEFAULT_SEED = 42
_PHASE_STREAM = 0
_UNIT_STREAM = 1


def phases(n_functions: int, seed: int) -> np.ndarray:
    """Each function's rotation for `shift`, as a fraction of the unit in [0, 1)."""
    return np.random.default_rng([seed, _PHASE_STREAM]).random(n_functions)


class UnitStreams:
    """Independent random streams per unit: unit c reads PCG64 substream c (2^64 draws long)
    of the stream seeded by (seed, 1).  Repositioning costs microseconds, where seeding a new
    generator per unit costs 0.1 ms (8 s for a day at second granularity)."""

    def __init__(self, seed: int):
        self._start = np.random.PCG64(np.random.SeedSequence([seed, _UNIT_STREAM])).state
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
    raise InputError(f"--iat {iat!r}: expected one of {', '.join(IAT_MODES)}")


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
) -> LoadStats:
    """Write `load.json` for `counts` [functions, units] (trace columns `first_column` ...),
    calling function i at `endpoints[i]`, one unit at a time."""
    if len(endpoints) != counts.shape[0]:
        raise ValueError(f"{len(endpoints)} endpoints for {counts.shape[0]} functions")
    if iat not in IAT_MODES:
        raise InputError(f"--iat {iat!r}: expected one of {', '.join(IAT_MODES)}")
    phase = phases(counts.shape[0], seed) if shift else None
    streams = UnitStreams(seed)
    with LoadWriter(path, endpoints) as writer:
        for unit in range(counts.shape[1]):
            offsets, functions = unit_calls(counts[:, unit], iat, streams(first_column + unit), unit_us, phase)
            writer.write_unit(offsets, functions)
            if on_unit:
                on_unit()
    return writer.stats
