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

The table it builds is `mapping.csv` (`loadcore.mappingfile`).
"""

from dataclasses import dataclass
from math import ceil

import numpy as np
import pandas as pd

from loadcore.errors import InputError
from loadcore.mappingfile import COLUMNS, PLANNED
from loadcore.profiles import column
from loadgen import naming
from loadgen.traces import Trace

PERCENTILES = (50, 75)
TRACE_ZERO = 0.01
MAX_UNIQUE_CELLS = 20_000_000


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


def build_mapping(trace: Trace, profiles: pd.DataFrame, percentile: int = 75, one_per_proxy: bool = False) -> pd.DataFrame:
    """The mapping table (`COLUMNS`) for every trace function, endpoints empty, status planned."""
    if percentile not in PERCENTILES:
        raise InputError(f"--percentile {percentile}: expected one of {', '.join(map(str, PERCENTILES))}")
    trace_memory, trace_duration = trace.memory_mb(percentile), trace.duration_ms(percentile)
    proxy_memory = profiles[column("memory", percentile)].to_numpy(dtype=float)
    proxy_duration = profiles[column("duration", percentile)].to_numpy(dtype=float)
    cost = distances(trace_memory, trace_duration, proxy_memory, proxy_duration)
    if not np.isfinite(cost).any():
        raise InputError(f"profiles: no proxy has a positive memory and duration at p{percentile}")
    chosen = unique(cost) if one_per_proxy else closest(cost)
    functions = trace.functions
    proxies = profiles.index.to_numpy()[chosen]
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
            "distance": cost[np.arange(len(chosen)), chosen],
            "service": [
                naming.service_name(proxy, owner, app, function)
                for proxy, owner, app, function in zip(
                    proxies, *(functions[column].tolist() for column in ("HashOwner", "HashApp", "HashFunction"))
                )
            ],
            "endpoint": "",
            "status": PLANNED,
        },
        columns=COLUMNS,
    )


@dataclass(frozen=True)
class MappingSummary:
    functions: int
    proxies: int
    median: float
    p90: float
    max: float
    max_distance: float
    over: int

    def __str__(self) -> str:
        return (
            f"mapped {self.functions} functions to {self.proxies} distinct proxies; distance median "
            f"{self.median:.2f}, p90 {self.p90:.2f}, max {self.max:.2f}; "
            f"{self.over} functions over --max-distance {self.max_distance:g} (kept)"
        )


def summarise(mapping: pd.DataFrame, max_distance: float) -> MappingSummary:
    distance = mapping["distance"].to_numpy(dtype=float)
    return MappingSummary(
        functions=len(mapping),
        proxies=mapping["proxy"].nunique(),
        median=float(np.median(distance)),
        p90=float(np.percentile(distance, 90)),
        max=float(distance.max()),
        max_distance=max_distance,
        over=int((distance > max_distance).sum()),
    )
