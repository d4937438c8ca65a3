"""Cold starts inferred from scaling.csv: which calls were likely cold, and scale-from-zero events.

On a cluster no reply says whether its call waited for a new pod, so `loadgen report` infers it
from the Pods a run had (`loadgen observe`, `loadcore.scalingfile`): a call is **cold_likely**
when it was sent while its function had no ready Pod, per the latest scaling.csv row of that
function at or before the call's send time. A call of a function without such a row is unknown.

The inference is a lower bound with known blind spots:
- a call sent while every ready Pod was busy (containerConcurrency reached) waits for a Pod that
  a scale-up from one or more adds, a cold start too, and is not flagged;
- a call sent with no ready Pod may still have been served by a Pod that became ready a moment
  later, so it paid only part of a start-up (it is flagged);
- times are two clocks: the observer's at each watch event and the invoker's at each send. A
  watch event arrives some milliseconds after the change, readiness is reported by the kubelet
  after its probe succeeds (up to a probe period late), and the two machines' clocks differ by
  their NTP offset. Calls within that margin of a change can fall on the wrong side of it.

A **scale-from-zero** event of a function starts at a row where it goes from no ready or pending
Pod to at least one, and ends at its first later row with a ready Pod, if one comes before the
function is back to none; a function's first row starts none, since what came before it was
not seen.
"""

import numpy as np
import pandas as pd

from loadcore.results import COLD_FALSE, COLD_TRUE, NO_VALUE

UNKNOWN = -1


def function_of(endpoints: np.ndarray) -> np.ndarray:
    """The Knative Service name of each endpoint host: its first DNS label."""
    return np.array([endpoint.split(".", 1)[0] for endpoint in endpoints.tolist()], dtype=object)


def ready_when_sent(scaling: pd.DataFrame, functions: np.ndarray, times_us: np.ndarray) -> np.ndarray:
    """Ready Pods of `functions[i]` at Unix µs `times_us[i]` per scaling.csv, UNKNOWN (-1) when
    the function had no row at or before that time."""
    ready = np.full(len(functions), UNKNOWN, dtype=np.int64)
    if not len(functions):
        return ready
    codes, names = pd.factorize(pd.Series(functions, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows = dict(tuple(scaling.groupby("function", sort=False)))
    for code, name in enumerate(names):
        table = rows.get(name)
        if table is None:
            continue
        calls = order[bounds[code] : bounds[code + 1]]
        last = np.searchsorted(table["time_us"].to_numpy(), times_us[calls], side="right") - 1
        seen = last >= 0
        ready[calls[seen]] = table["ready"].to_numpy()[last[seen]]
    return ready


def cold_likely(scaling: pd.DataFrame, endpoints: np.ndarray, sent_unix_us: np.ndarray) -> np.ndarray:
    """Per call: 1 (sent while its function had no ready Pod), 0 (it had one), UNKNOWN (-1)."""
    ready = ready_when_sent(scaling, function_of(endpoints), sent_unix_us)
    return np.where(ready == UNKNOWN, UNKNOWN, (ready == 0).astype(np.int64))


class ColdInference:
    """`cold_likely` as the results' `cold` values: `loadgen.merge.merge_results(infer_cold=...)`.

    A call's `sent_us` counts from its worker's t0: the t0 its row records (`t0_unix_us`, Unix
    µs), or `t0_unix_us` given here for every row (`loadgen report --t0`), which wins. A call
    whose t0 is known neither way stays unknown."""

    def __init__(self, scaling: pd.DataFrame, t0_unix_us: int | None = None) -> None:
        self.scaling, self.t0_unix_us = scaling, t0_unix_us

    def __call__(self, endpoints: np.ndarray, sent_us: np.ndarray, row_t0_unix_us: np.ndarray) -> np.ndarray:
        """Flags of calls to `endpoints` sent at `sent_us`, their rows' t0 in `row_t0_unix_us` (NaN: none)."""
        t0 = np.asarray(row_t0_unix_us, dtype=np.float64) if self.t0_unix_us is None else \
            np.full(len(sent_us), self.t0_unix_us, dtype=np.float64)
        placed = ~np.isnan(t0)
        flags = np.full(len(sent_us), NO_VALUE, dtype=object)
        if placed.any():  # t0 below 2**53 µs (year 2255) is exact in float64
            likely = cold_likely(self.scaling, endpoints[placed], t0[placed].astype(np.int64) + sent_us[placed])
            flags[placed] = np.select([likely == 1, likely == 0], [COLD_TRUE, COLD_FALSE], NO_VALUE)
        return flags


def scale_from_zero(scaling: pd.DataFrame) -> pd.DataFrame:
    """Every scale-from-zero event: `function`, `start_us`, `ready_us` (NaN if no Pod became ready)
    and `delay_us` (ready - start, NaN likewise), in time order."""
    events = []
    for function, table in scaling.groupby("function", sort=True):
        times = table["time_us"].to_numpy()
        ready = table["ready"].to_numpy()
        up = (ready + table["pending"].to_numpy()) > 0
        starts = np.flatnonzero(up[1:] & ~up[:-1]) + 1
        ready_rows = np.flatnonzero(ready > 0)
        ends = np.append(starts[1:], len(times))
        for start, end in zip(starts.tolist(), ends.tolist()):
            first = ready_rows[np.searchsorted(ready_rows, start) :]
            ready_us = float(times[first[0]]) if first.size and first[0] < end else np.nan
            events.append((function, int(times[start]), ready_us))
    table = pd.DataFrame(events, columns=["function", "start_us", "ready_us"])
    table["delay_us"] = table["ready_us"] - table["start_us"]
    return table.sort_values(["start_us", "function"], kind="stable", ignore_index=True)
