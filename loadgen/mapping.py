"""Map trace functions to vSwarm proxies: the distance, closest and unique modes, the summary.

Distance (as the vSwarm mapper): Euclidean distance of (ln memory, ln duration) at one
percentile (p50 or p75), trace values of 0 clamped to 0.01; a proxy with a missing or zero
memory or duration is never chosen.  Memory: the trace says MB, the profiles MiB; the numbers
are compared as they are (as vSwarm does).  Were Azure's MB 10^6 bytes, the trace would read
4.6 % high in MiB, a shift of 0.047 in ln memory, far below the profiles' own noise.

- closest (default): each function gets its nearest proxy (first in profile order on ties);
  several functions may share a proxy.
- unique: an assignment minimising the total distance (`scipy.optimize.linear_sum_assignment`).
  With n functions and m usable proxies, each proxy serves at most ceil(n / m) functions:
  one proxy when n <= m (an injective mapping), and when n > m the load is balanced, solved
  exactly as an assignment onto each proxy column repeated ceil(n / m) times.

Synthetic functions (`Fallback`): where no proxy fits, a function gets invitro's synthetic
function instead (`trace-func-go`, which runs for the runtime each call asks, see
`loadgen.synthetic`); its row then keeps the closest proxy and its distance (why it was not
used), its Service is named `trace-func-<id>`, and its `kind` is `synthetic`.

- `never`: every function gets its proxy, however far (vSwarm's mapping); `max_distance` only
  counts the far ones.
- `fallback` (default): a function gets the synthetic function when its closest proxy is
  farther than `max_distance` (rule `distance`, default 1.0: e^1 = 2.7x off in memory or
  duration), or, with rule `invitro` (invitro's mapper, to reproduce it), when that proxy's
  duration at the mapping percentile is more than 40 % off the trace's.  With `unique`, the
  functions whose closest proxy passes are assigned, and those whose assigned proxy then
  fails the rule go synthetic too.
- `always`: every function gets the synthetic function.

Zero durations: Azure records runs shorter than a millisecond as 0.  For the distance such a
duration is 0.01 ms as above, so it is far from every proxy (ln 0.01 = -4.6; the shortest
shipped proxy's p75 is 0.75 ms) and under `fallback` goes synthetic; under the invitro rule it always
does (nothing is within 40 % of 0).  Its synthetic calls then ask for 1 ms, the least
trace-func-go runs.
"""

from dataclasses import dataclass
from math import ceil

import numpy as np
import pandas as pd

from loadcore.errors import InputError
from loadcore.mappingfile import COLUMNS, KIND_PROXY, KIND_SYNTHETIC, PLANNED, PROTOCOLS
from loadcore.profiles import column
from loadgen import naming
from loadgen.traces import Trace

PERCENTILES = (50, 75)
TRACE_ZERO = 0.01
MAX_UNIQUE_CELLS = 20_000_000
SYNTHETIC_MODES = ("never", "fallback", "always")
FALLBACK_RULES = ("distance", "invitro")
INVITRO_TOLERANCE = 0.4
SYNTHETIC_FUNCTION = "trace-func"
"""What synthetic functions' Services are named after (`trace-func-<id>`): invitro tells them
from proxies by this text in the name."""


def distances(trace_memory, trace_duration, proxy_memory, proxy_duration) -> np.ndarray:
    """Cost matrix [functions, proxies]; `inf` for proxies lacking a positive memory or duration."""
    trace = np.log(np.maximum(np.column_stack([trace_memory, trace_duration]).astype(float), TRACE_ZERO))
    proxy = np.column_stack([proxy_memory, proxy_duration]).astype(float)
    usable = np.all(np.isfinite(proxy) & (proxy > 0), axis=1)
    proxy = np.log(np.where(usable[:, None], proxy, 1.0))
    # In place on two 2-D arrays: for 46,000 functions each temporary is 70 MB of fresh pages.
    cost = trace[:, 0, None] - proxy[None, :, 0]
    duration = trace[:, 1, None] - proxy[None, :, 1]
    np.multiply(cost, cost, out=cost)
    np.multiply(duration, duration, out=duration)
    np.add(cost, duration, out=cost)
    np.sqrt(cost, out=cost)
    cost[:, ~usable] = np.inf
    return cost


def closest(cost: np.ndarray) -> np.ndarray:
    """Index of the nearest proxy for every function (the first one on ties)."""
    return np.argmin(cost, axis=1)


def unique(cost: np.ndarray) -> np.ndarray:
    """Minimum-total-distance assignment with at most ceil(n / m) functions per usable proxy."""
    usable = np.flatnonzero(np.isfinite(cost).all(axis=0))
    n, m = cost.shape[0], usable.size
    per_proxy = ceil(n / m)
    if n * m * per_proxy > MAX_UNIQUE_CELLS:
        raise InputError(
            f"--unique: {n} functions x {m} proxies x {per_proxy} slots is too large an assignment "
            f"(limit {MAX_UNIQUE_CELLS} cells); use --no-unique"
        )
    from scipy.optimize import linear_sum_assignment  # imported here: scipy.optimize takes ~0.5 s to import

    replicated = np.tile(cost[:, usable], (1, per_proxy))
    rows, columns = linear_sum_assignment(replicated)
    chosen = np.empty(n, dtype=np.int64)
    chosen[rows] = usable[columns % m]
    return chosen


@dataclass(frozen=True)
class Fallback:
    """When a function gets the synthetic function instead of its proxy (see the module doc)."""

    mode: str = "fallback"
    rule: str = "distance"
    max_distance: float = 1.0

    def __post_init__(self):
        for option, value, allowed in (("--synthetic", self.mode, SYNTHETIC_MODES), ("--fallback-rule", self.rule, FALLBACK_RULES)):
            if value not in allowed:
                raise InputError(f"{option} {value!r}: expected one of {', '.join(allowed)}")
        if not self.max_distance >= 0:
            raise InputError(f"--max-distance {self.max_distance}: expected a non-negative number")

    def misfits(self, trace_duration: np.ndarray, proxy_duration: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Which functions this proxy does not fit (True: synthetic), given the proxy's duration and distance."""
        if self.mode != "fallback":
            return np.full(distance.shape, self.mode == "always")
        if self.rule == "invitro":
            return ~np.isfinite(distance) | (np.abs(proxy_duration - trace_duration) > INVITRO_TOLERANCE * trace_duration)
        return ~(distance <= self.max_distance)


def build_mapping(
    trace: Trace, profiles: pd.DataFrame, percentile: int = 75, one_per_proxy: bool = False, fallback: Fallback = Fallback()
) -> pd.DataFrame:
    """The mapping table (`COLUMNS`) for every trace function, endpoints empty, status planned."""
    if percentile not in PERCENTILES:
        raise InputError(f"--percentile {percentile}: expected one of {', '.join(map(str, PERCENTILES))}")
    trace_memory, trace_duration = trace.memory_mb(percentile), trace.duration_ms(percentile)
    proxy_memory = profiles[column("memory", percentile)].to_numpy(dtype=float)
    proxy_duration = profiles[column("duration", percentile)].to_numpy(dtype=float)
    cost = distances(trace_memory, trace_duration, proxy_memory, proxy_duration)
    if not np.isfinite(cost).any():
        raise InputError(f"profiles: no proxy has a positive memory and duration at p{percentile}")
    rows = np.arange(len(cost))
    chosen = closest(cost)
    synthetic = fallback.misfits(trace_duration, proxy_duration[chosen], cost[rows, chosen])
    if one_per_proxy and not synthetic.all():
        candidates = np.flatnonzero(~synthetic)
        assigned = unique(cost[candidates])
        misfit = fallback.misfits(trace_duration[candidates], proxy_duration[assigned], cost[candidates, assigned])
        synthetic[candidates[misfit]] = True
        kept = ~misfit
        chosen[candidates[kept]] = assigned[kept]
    functions = trace.functions
    proxies = profiles.index.to_numpy()[chosen]
    named_after = np.where(synthetic, SYNTHETIC_FUNCTION, proxies)
    return pd.DataFrame(
        {
            "HashOwner": functions["HashOwner"].to_numpy(),
            "HashApp": functions["HashApp"].to_numpy(),
            "HashFunction": functions["HashFunction"].to_numpy(),
            "Trigger": functions["Trigger"].to_numpy(),
            "trace_memory_mb": trace_memory,
            "trace_duration_ms": trace_duration,
            "proxy": proxies,
            "proxy_memory_mib": proxy_memory[chosen],
            "proxy_duration_ms": proxy_duration[chosen],
            "distance": cost[rows, chosen],
            "service": [
                naming.service_name(name, owner, app, function)
                for name, owner, app, function in zip(
                    named_after, *(functions[column].tolist() for column in ("HashOwner", "HashApp", "HashFunction"))
                )
            ],
            "endpoint": "",
            "status": PLANNED,
            "kind": np.where(synthetic, KIND_SYNTHETIC, KIND_PROXY),
            "protocol": np.where(synthetic, PROTOCOLS[KIND_SYNTHETIC], PROTOCOLS[KIND_PROXY]),
        },
        columns=COLUMNS,
    )


@dataclass(frozen=True)
class Distances:
    """How far the functions of one kind are from their (closest, for synthetic ones) proxy."""

    functions: int
    median: float
    p90: float
    max: float

    @classmethod
    def of(cls, distance: np.ndarray) -> "Distances | None":
        if not distance.size:
            return None
        return cls(distance.size, float(np.median(distance)), float(np.percentile(distance, 90)), float(distance.max()))

    def figures(self) -> str:
        return f"median {self.median:.2f}, p90 {self.p90:.2f}, max {self.max:.2f}"


@dataclass(frozen=True)
class MappingSummary:
    """Counts per kind with their distance figures, for the generate line and summaries."""

    functions: int
    proxies: int  # distinct proxies that proxy-kind functions use
    proxy: Distances | None
    synthetic: Distances | None
    fallback: Fallback
    over: int  # proxy-kind functions farther than max_distance (kept)
    zero_duration: int  # functions whose duration at the mapping percentile is 0

    def __str__(self) -> str:
        parts = []
        if self.proxy is not None:
            parts.append(
                f"mapped {_functions(self.proxy.functions)} to {self.proxies} distinct prox{'y' if self.proxies == 1 else 'ies'}; "
                f"distance {self.proxy.figures()}"
            )
        if self.over:
            parts.append(f"{_functions(self.over)} over --max-distance {self.fallback.max_distance:g} (kept)")
        if self.synthetic is not None:
            if self.fallback.mode == "always":
                why = "--synthetic always; closest proxy's"
            elif self.fallback.rule == "invitro":
                why = f"closest proxy's duration more than {INVITRO_TOLERANCE:.0%} off; its"
            else:
                why = f"closest proxy farther than --max-distance {self.fallback.max_distance:g}:"
            parts.append(f"{_functions(self.synthetic.functions)} to the synthetic function ({why} distance {self.synthetic.figures()})")
        if self.zero_duration:
            parts.append(f"{_functions(self.zero_duration)} with zero duration")
        return "; ".join(parts)


def _functions(count: int) -> str:
    return f"{count} function{'' if count == 1 else 's'}"


def summarise(mapping: pd.DataFrame, fallback: Fallback = Fallback()) -> MappingSummary:
    distance = mapping["distance"].to_numpy(dtype=float)
    synthetic = (mapping["kind"] == KIND_SYNTHETIC).to_numpy()
    proxy = ~synthetic
    return MappingSummary(
        functions=len(mapping),
        proxies=mapping["proxy"][proxy].nunique(),
        proxy=Distances.of(distance[proxy]),
        synthetic=Distances.of(distance[synthetic]),
        fallback=fallback,
        over=int((distance[proxy] > fallback.max_distance).sum()),
        zero_duration=int((mapping["trace_duration_ms"] == 0).sum()),
    )
