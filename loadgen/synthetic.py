"""What each call of a synthetic function asks for: its runtime (ms) and memory (MiB).

The synthetic function (invitro's `trace-func-go`, `invoker/faas.proto`) runs for the runtime
and allocates the memory its request names, so every call carries its own pair, drawn from the
trace function's percentiles as invitro's loader draws them:

- runtime: u ~ U[0, 1) picks a bracket between the duration percentiles p0/1/25/50/75/99/100
  (u < 0.01: [p0, p1), u < 0.25: [p1, p25), ..., u ≥ 0.99: [p99, p100)), then a uniform
  integer inside it, ⌊lo⌋ ≤ x < ⌊hi⌋ (⌊lo⌋ when the two are equal); clamped to
  `MIN_RUNTIME_MS` (trace-func-go refuses 0, and Azure records sub-millisecond runs as 0) and
  `max_runtime_ms` (invitro's 60 s by default);
- memory: the same over p1/5/25/50/75/95/99/100 of the trace's memory (MB, taken as MiB as the
  mapping does); the first 1 % is p1 itself, there being no p0; clamped to 1–10,240 MiB.

A per-invocation trace (Azure 2021) replayed at its own call times (`--iat trace`) knows each
call's duration: a synthetic call then asks for that one (rounded to the ms, clamped as above),
as invitro's loader does for that trace; its memory is drawn (the 2021 trace records none, so
its percentiles are all `--memory-mb`).

A trace row whose percentiles decrease somewhere (a data glitch) is read as its running maximum,
the nearest non-decreasing row. Draws come from their own random stream per trace unit, seeded
by (seed, unit column) apart from the call times, so the same seed gives the same calls and a
unit's draws do not depend on where the window starts.
"""

from dataclasses import dataclass

import numpy as np

from loadcore.errors import InputError
from loadcore.loadfile import ABSENT, PAYLOAD_FIELDS
from loadgen.traces.model import DURATION_COLUMNS, DURATION_PERCENTILES, MEMORY_COLUMNS, MEMORY_PERCENTILES

MIN_RUNTIME_MS = 1
DEFAULT_MAX_RUNTIME_MS = 60_000
MIN_MEMORY_MIB = 1
MAX_MEMORY_MIB = 10_240


@dataclass(frozen=True)
class Brackets:
    """Percentile points of one quantity per function: `points[f, i]` is function f's value at
    cumulative probability `cuts[i]`; `cuts` runs from 0 to 1."""

    cuts: np.ndarray
    points: np.ndarray

    def draw(self, functions: np.ndarray, rng: np.random.Generator, low: int, high: int) -> np.ndarray:
        """One integer per entry of `functions` (indices into `points`), clamped to [low, high]."""
        bracket = np.searchsorted(self.cuts, rng.random(functions.size), side="right") - 1
        lo = self.points[functions, bracket]
        width = self.points[functions, bracket + 1] - lo
        value = lo + np.floor(rng.random(functions.size) * width).astype(np.int64)
        return np.clip(value, low, high)


def _brackets(percentiles: tuple[int, ...], values: np.ndarray) -> Brackets:
    points = np.floor(np.maximum.accumulate(np.asarray(values, dtype=np.float64), axis=1)).astype(np.int64)
    cuts = np.asarray(percentiles, dtype=np.float64) / 100
    if cuts[0] > 0:  # nothing below the first percentile: that bracket is its value alone
        points = np.column_stack([points[:, 0], points])
        cuts = np.concatenate([[0.0], cuts])
    return Brackets(cuts, points)


@dataclass(frozen=True)
class CallSpecs:
    """Runtime and memory brackets of the synthetic functions of a run, one row each."""

    runtime: Brackets
    memory: Brackets
    max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS

    @classmethod
    def from_table(cls, functions, max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS) -> "CallSpecs":
        """From a table with the trace's duration (ms) and memory (MB) percentile columns."""
        if not max_runtime_ms >= MIN_RUNTIME_MS:
            raise InputError(f"--max-runtime-ms {max_runtime_ms}: expected at least {MIN_RUNTIME_MS}")
        return cls(
            _brackets(DURATION_PERCENTILES, functions[DURATION_COLUMNS].to_numpy()),
            _brackets(MEMORY_PERCENTILES, functions[MEMORY_COLUMNS].to_numpy()),
            max_runtime_ms,
        )

    def select(self, rows: np.ndarray) -> "CallSpecs":
        """The table of these rows (a boolean mask or indices), in their order."""
        return CallSpecs(Brackets(self.runtime.cuts, self.runtime.points[rows]),
                         Brackets(self.memory.cuts, self.memory.points[rows]), self.max_runtime_ms)

    def draw(self, functions: np.ndarray, rng: np.random.Generator, runtime_ms: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """(runtime_ms, memory_mib) of calls of `functions` (rows of this table), in call order
        (the order of `loadcore.loadfile.PAYLOAD_FIELDS`); `runtime_ms`, when given, are the
        calls' own runtimes (clamped like drawn ones) and only the memory is drawn."""
        if runtime_ms is None:
            runtime = self.runtime.draw(functions, rng, MIN_RUNTIME_MS, self.max_runtime_ms)
        else:
            runtime = np.clip(np.asarray(runtime_ms, dtype=np.int64), MIN_RUNTIME_MS, self.max_runtime_ms)
        memory = self.memory.draw(functions, rng, MIN_MEMORY_MIB, MAX_MEMORY_MIB)
        return runtime, memory


@dataclass(frozen=True)
class SyntheticCalls:
    """The functions of a load.json (`synthetic[i]` true for a synthetic one) and their
    brackets (`specs` row i): what each of their calls asks for."""

    specs: CallSpecs
    synthetic: np.ndarray

    def __bool__(self) -> bool:
        return bool(self.synthetic.any())

    def payload(self, functions: np.ndarray, rng: np.random.Generator, runtime_ms: np.ndarray | None = None
                ) -> dict[str, np.ndarray] | None:
        """The payload lists of one unit's calls (`functions`, in call order): a runtime and
        memory for each call of a synthetic function, `ABSENT` for the others; None if none.
        `runtime_ms` are the calls' own runtimes when the trace recorded them."""
        drawn = self.synthetic[functions]
        if not drawn.any():
            return None
        own = None if runtime_ms is None else runtime_ms[drawn]
        payload = {name: np.full(functions.size, ABSENT, dtype=np.int64) for name in PAYLOAD_FIELDS}
        for name, values in zip(PAYLOAD_FIELDS, self.specs.draw(functions[drawn], rng, own)):
            payload[name][drawn] = values
        return payload
