"""Map trace functions to vSwarm proxies, and the `mapping.csv` file that records it.

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

`mapping.csv` (written by `write_mapping`, read and validated by `read_mapping`): one row per
trace function in trace order, comma-separated, UTF-8, with the columns of `COLUMNS` in that
order (readers find them by name; extra columns are allowed):

| column | meaning |
|---|---|
| HashOwner, HashApp, HashFunction, Trigger | the trace function |
| trace_memory_mb, trace_duration_ms | its memory (MB) and duration (ms) at the mapping percentile |
| proxy | the chosen proxy (a key of profile.json) |
| proxy_memory_mib, proxy_duration_ms | the proxy's memory (MiB) and duration (ms) at the same percentile |
| distance | the distance above |
| service | the function's own Knative Service name, `<proxy>-<id>` (`loadgen.naming`) |
| endpoint | host to invoke, `<service>.<namespace>.<domain>`, no scheme or port (empty if not deployed) |
| status | `planned` (not deployed), `ready`, or `failed: <reason>` |
"""

from dataclasses import dataclass
from math import ceil
from pathlib import Path

import numpy as np
import pandas as pd

from loadgen import naming
from loadgen.csvfile import line_of, number_column, read_csv, require_columns, text_column
from loadgen.errors import InputError
from loadgen.profiles import column
from loadgen.trace import Trace

COLUMNS = [
    "HashOwner", "HashApp", "HashFunction", "Trigger",
    "trace_memory_mb", "trace_duration_ms",
    "proxy", "proxy_memory_mib", "proxy_duration_ms", "distance",
    "service", "endpoint", "status",
]  # fmt: skip
TEXT_COLUMNS = ("HashOwner", "HashApp", "HashFunction", "Trigger", "proxy", "service", "endpoint", "status")
NUMBER_COLUMNS = ("trace_memory_mb", "trace_duration_ms", "proxy_memory_mib", "proxy_duration_ms", "distance")
PERCENTILES = (50, 75)
TRACE_ZERO = 0.01
PLANNED = "planned"
READY = "ready"
FAILED = "failed"
MAX_UNIQUE_CELLS = 20_000_000


def distances(trace_memory, trace_duration, proxy_memory, proxy_duration) -> np.ndarray:
    """Cost matrix [functions, proxies]; `inf` for proxies lacking a positive memory or duration."""
    trace = np.log(np.maximum(np.column_stack([trace_memory, trace_duration]).astype(float), TRACE_ZERO))
    proxy = np.column_stack([proxy_memory, proxy_duration]).astype(float)
    usable = np.all(np.isfinite(proxy) & (proxy > 0), axis=1)
    proxy = np.log(np.where(usable[:, None], proxy, 1.0))
    cost = np.sqrt(((trace[:, None, :] - proxy[None, :, :]) ** 2).sum(axis=2))
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
                    proxies, functions["HashOwner"], functions["HashApp"], functions["HashFunction"]
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


def write_mapping(mapping: pd.DataFrame, path: Path) -> None:
    """Write `mapping.csv` (columns `COLUMNS` first, then any extra ones)."""
    extra = [c for c in mapping.columns if c not in COLUMNS]
    mapping[COLUMNS + extra].to_csv(path, index=False, float_format="%.6g", lineterminator="\n")


def read_mapping(path: Path) -> pd.DataFrame:
    """Read and validate `mapping.csv`; every problem is an `InputError` naming line and column."""
    path = Path(path)
    table = read_csv(path, NUMBER_COLUMNS, text_columns=TEXT_COLUMNS)
    require_columns(path, table, COLUMNS)
    for name in ("HashOwner", "HashApp", "HashFunction", "Trigger", "proxy", "service", "status"):
        table[name] = text_column(path, table, name)
    table["endpoint"] = table["endpoint"].fillna("").astype(str).str.strip()
    for name in NUMBER_COLUMNS:
        table[name] = number_column(path, table, name)
    for row, (service, status, endpoint) in enumerate(zip(table["service"], table["status"], table["endpoint"])):
        if not naming.is_service_name(service):
            raise InputError(
                f"{path}: line {line_of(row)}, column 'service': {service!r}, expected a DNS-1035 name "
                f"of at most {naming.MAX_NAME} characters"
            )
        if status not in (PLANNED, READY) and not status.startswith(f"{FAILED}:"):
            raise InputError(
                f"{path}: line {line_of(row)}, column 'status': {status!r}, expected planned, ready or 'failed: <reason>'"
            )
        if status == READY and not endpoint:
            raise InputError(f"{path}: line {line_of(row)}, column 'endpoint': empty, expected the host of a ready service")
    for key, what in ((["HashOwner", "HashApp", "HashFunction"], "function"), (["service"], "service")):
        duplicated = table.duplicated(key).to_numpy()
        if duplicated.any():
            row = int(np.flatnonzero(duplicated)[0])
            raise InputError(f"{path}: line {line_of(row)}: duplicate {what} {'/'.join(table.iloc[row][key])}, expected one row each")
    return table
