"""Which worker replays which calls (`invoker replay --shard I/N`, `loadgen shards`).

Functions go to shards by their call counts, longest-processing-time first: the function with
the most calls goes to the shard with the fewest calls so far, and so on down to the least
busy function (ties: the function that appears first in load.json, then the lowest shard). A
function's calls stay on one worker and one connection.

Traces are heavy-tailed: in the shipped sample one function has 64 % of the calls, so no
placement of whole functions balances 2 workers. With `split_hot`, the functions with more
calls than an even share (total calls / N) are spread instead: the other functions are placed
whole as above, then the hot functions' calls fill the shards up to one level (the least
loaded first), poured one function after another in shard order so that each hot function
lands on as few shards as the fill allows. A hot function's calls are dealt to its shards
evenly in time (in due order, each shard's calls spaced like its share), so each worker sees
a steady fraction of its rate, not a block of it.

The plan depends on nothing but the calls of the `Load` given (the units a replay plays, so
`--warmup` and `--duration` must match), so every worker computes the same plan from the same
load.json without a coordinator, and the N shards partition the calls exactly.
"""

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # reading load.json needs pandas; `--processes` children import this module
    from loadcore.loadfile import Load

MAX_WORKERS = 10_000
"""The most shards a load may be split into (`--shard I/N`, `loadgen shards --workers`): far
more workers than a cluster has (a shard beyond the number of functions is empty unless
`--split-hot`), and the one bound of N, so every shard label a results file records is checked
against it too."""
UNBALANCED = 1.1


@dataclass(frozen=True)
class ShardPlan:
    """The shard (0-based) of every call of a `Load`, and what each shard gets.

    `call_shard[i]` is the shard of call i of the load (its file order); `endpoint_shards[e]`
    the shards endpoint e (`endpoints[e]`) sends calls to (one, several when split, none
    without calls).
    """

    workers: int
    split_hot: bool
    call_shard: np.ndarray
    endpoints: tuple[str, ...]
    endpoint_calls: np.ndarray
    endpoint_shards: tuple[tuple[int, ...], ...]
    shard_calls: np.ndarray
    shard_functions: np.ndarray
    shard_busiest_unit: np.ndarray
    """The most calls one unit gives each shard: the rate its worker must keep up with."""

    @property
    def calls(self) -> int:
        return int(self.shard_calls.sum())

    @property
    def mean_calls(self) -> float:
        return self.calls / self.workers

    @property
    def max_over_mean(self) -> float:
        return max_over_mean(self.shard_calls.tolist())

    def label(self, shard: int) -> str:
        """`I/N` (1-based) of a 0-based shard."""
        return f"{shard + 1}/{self.workers}"

    def calls_by_shard(self, load: "Load") -> dict[int, dict[int, int]]:
        """{endpoint: {shard: calls}} of the endpoints with calls (`load`: the one planned)."""
        pairs, counts = np.unique(load.endpoint_index.astype(np.int64) * self.workers + self.call_shard,
                                  return_counts=True)  # fmt: skip
        found: dict[int, dict[int, int]] = {}
        for pair, count in zip(pairs.tolist(), counts.tolist()):
            found.setdefault(pair // self.workers, {})[pair % self.workers] = count
        return found

    def imbalance(self) -> str | None:
        """What to tell the user when the busiest shard has more than `UNBALANCED` times the
        mean calls because functions are kept whole; None otherwise."""
        if self.max_over_mean <= UNBALANCED:
            return None
        busiest = f"the busiest of {self.workers} shards has {self.max_over_mean:.2f}× the mean calls"
        hottest = int(np.argmax(self.endpoint_calls))
        if self.split_hot or self.endpoint_calls[hottest] <= self.mean_calls:
            return f"{busiest} ({int(np.count_nonzero(self.endpoint_calls)):,} functions, kept whole unless too hot)"
        return (f"{busiest}: {self.endpoints[hottest]} alone has {int(self.endpoint_calls[hottest]):,} of "
                f"{self.calls:,}; --split-hot spreads functions too hot for one worker")


def plan_file(path: Path, workers: int, split_hot: bool = False,
              max_units: int | None = None) -> tuple["Load", ShardPlan]:  # fmt: skip
    """The first `max_units` units of load.json at `path` and their plan over `workers` shards."""
    from loadcore.loadfile import read_load  # pandas, which `--processes` children do without

    load = read_load(path, max_units)
    return load, plan_shards(load, workers, split_hot)


def max_over_mean(shard_calls: list[int] | tuple[int, ...]) -> float:
    """Calls of the busiest shard over the mean: 1.0 is a perfect balance (also without calls)."""
    total = sum(shard_calls)
    return max(shard_calls) * len(shard_calls) / total if total else 1.0


def plan_shards(load: "Load", workers: int, split_hot: bool = False) -> ShardPlan:
    """Assign every call of `load` to one of `workers` (1 to `MAX_WORKERS`) shards (see the
    module docstring)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"{workers} workers: expected 1 to {MAX_WORKERS}")
    endpoint_calls = np.bincount(load.endpoint_index, minlength=len(load.endpoints)).astype(np.int64)
    hot = endpoint_calls * workers > endpoint_calls.sum() if split_hot else np.zeros(len(endpoint_calls), bool)
    whole_shard, loads = _longest_first(np.where(hot, 0, endpoint_calls), workers)
    call_shard = whole_shard[load.endpoint_index].astype(np.int32)
    endpoint_shards = [(int(whole_shard[e]),) if calls else () for e, calls in enumerate(endpoint_calls.tolist())]
    if hot.any():
        in_due_order = np.lexsort((load.offset_us, load.unit, load.endpoint_index))  # by function, then due
        first = np.concatenate(([0], np.cumsum(endpoint_calls)[:-1]))
        for endpoint, counts in _pour(endpoint_calls, np.flatnonzero(hot), loads).items():
            calls = in_due_order[first[endpoint]:first[endpoint] + endpoint_calls[endpoint]]
            call_shard[calls] = _deal(counts)
            endpoint_shards[endpoint] = tuple(np.flatnonzero(counts).tolist())
    busiest = np.zeros(workers, dtype=np.int64)
    units = max(load.units, 1)
    shard_units, calls_in_unit = np.unique(call_shard * units + load.unit, return_counts=True)
    np.maximum.at(busiest, shard_units // units, calls_in_unit)
    return ShardPlan(
        workers=workers,
        split_hot=split_hot,
        call_shard=call_shard,
        endpoints=load.endpoints,
        endpoint_calls=endpoint_calls,
        endpoint_shards=tuple(endpoint_shards),
        shard_calls=np.bincount(call_shard, minlength=workers).astype(np.int64),
        shard_functions=np.bincount([s for shards in endpoint_shards for s in shards], minlength=workers),
        shard_busiest_unit=busiest,
    )


def _longest_first(endpoint_calls: np.ndarray, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """The shard of every endpoint placed whole, most calls first, each on the least loaded
    shard; and the calls each shard then has."""
    shards = np.zeros(len(endpoint_calls), dtype=np.int64)
    heap = [(0, shard) for shard in range(workers)]
    for endpoint in np.lexsort((np.arange(len(endpoint_calls)), -endpoint_calls)).tolist():
        load, shard = heap[0]
        shards[endpoint] = shard
        heapq.heapreplace(heap, (load + int(endpoint_calls[endpoint]), shard))
    loads = np.zeros(workers, dtype=np.int64)
    for load, shard in heap:
        loads[shard] = load
    return shards, loads


def _pour(endpoint_calls: np.ndarray, hot: np.ndarray, loads: np.ndarray) -> dict[int, np.ndarray]:
    """Calls per shard of each hot endpoint: the shards filled to one level, hottest first."""
    total = int(endpoint_calls[hot].sum())
    quota = _fill(loads, total)
    poured = {}
    shard = 0
    for endpoint in sorted(hot.tolist(), key=lambda e: (-int(endpoint_calls[e]), e)):
        left = int(endpoint_calls[endpoint])
        counts = np.zeros(len(loads), dtype=np.int64)
        while left:
            while quota[shard] == 0:
                shard += 1
            taken = min(left, int(quota[shard]))
            counts[shard] += taken
            quota[shard] -= taken
            left -= taken
        poured[endpoint] = counts
    return poured


def _fill(loads: np.ndarray, total: int) -> np.ndarray:
    """Integer amounts summing to `total` that bring the least loaded shards up to one level
    (the remainder, one each, to the lowest such shards)."""
    ascending = np.argsort(loads, kind="stable")
    level_of = [(total + int(loads[ascending[:k]].sum()), k) for k in range(1, len(loads) + 1)]
    amount, k = next((amount, k) for amount, k in reversed(level_of) if loads[ascending[k - 1]] * k < amount)
    base, extra = divmod(amount, k)
    filled = np.sort(ascending[:k])
    quota = np.zeros(len(loads), dtype=np.int64)
    quota[filled] = base - loads[filled]
    quota[filled[:extra]] += 1
    return quota


def _deal(counts: np.ndarray) -> np.ndarray:
    """The shard of each of a function's calls in due order, so that shard i gets counts[i]
    calls spread evenly: its j-th call where j + 1/2 of its counts[i] would fall."""
    shards = np.repeat(np.arange(len(counts)), counts)
    positions = np.concatenate([(np.arange(n) + 0.5) / n for n in counts.tolist() if n])
    return shards[np.lexsort((shards, positions))]
