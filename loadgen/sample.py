"""Cut a trace down to representative samples of a few hundred functions (`loadgen sample`).

**What "representative" means** (invitro's measure, kept so results compare): for every
minute of the window, the 1-D Wasserstein distance between the sample's and the full trace's
per-function invocation counts that minute, and the same for "resource" = count × mean
duration (ms) × memory (MB) / 10^6; a sample's distances are the means over the minutes, its
score the mean of the two (`loadgen.distance`).  Memory here is each function's own as the
trace reader gives it (an app's whole memory for per-app files, see `loadgen.traces.folder`).

**invitro's sampler** draws 16 uniform random samples and keeps the one of least score.
**This one**, for a sample of n functions drawn from a set P (the pool, or for nested sizes
the next bigger sample):

1. orders P by mean calls per minute in the window (or by mean resource per minute) and
   cuts it into n strata of equal size (as equal as integers allow), so every quantile of
   the trace gets its one function, from the idle to the busiest; a uniform draw of n misses
   the few busiest functions or takes several of them, and they make the distances;
2. draws `trials` such stratified samples (one uniform function per stratum; the trials
   alternate between the two orders) and keeps the one of least score;
3. improves it by `swaps` proposals: replace a stratum's function by another of the same
   stratum, kept when the score drops; a stratum is proposed with probability half uniform
   and half by its share of the calls (or resource), so the busy strata, where the distance
   is made, get most tries.

Every draw comes from a generator seeded by (seed, size, purpose), so the same seed gives
the same samples, byte for byte.  Sizes nest: the largest is drawn from the pool, each
smaller one from the next bigger sample, so load grows with size.  The pool is the functions
with at least one call in the window (the others would be Services that are never called;
they are counted, not sampled).

For each size, the same number of plain uniform random samples from the pool is measured
too; their median and best are reported beside ours, and so is invitro's sampler run the
same way (the best of `trials` uniform draws, each size drawn from its own next bigger).  The
sample's calls are compared with the full trace's scaled by n / pool: a distance-optimal
sample need not carry proportional load, and `generate --rate-scale` can adjust it.

Outputs (`write_samples`): `DIR/<size>/{invocations,durations,memory}.csv` in the azure2019
layout that `loadgen generate --trace DIR/<size>` reads, count columns labelled as in the
trace (invitro's `-s 00:09:00 -dur 150` window keeps `540` ... `689`), functions in trace
order; memory per function (13 columns), every function with its app's whole memory, which
is what the reader gives it (and what invitro's loader, which needs per-function memory,
reads); `DIR/sampling.json` (below) and the figure `DIR/sampling.png`.
"""

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loadgen.distance import Reference
from loadcore.errors import InputError
from loadcore.files import output_folder, write_output
from loadgen.traces import KEY, Trace, TraceChoices, Window
from loadgen.traces.model import DURATION_COLUMNS, DURATION_EXTRA, MEMORY_COLUMNS, MEMORY_EXTRA

RESOURCE_NORM = 1e6
"""invitro's `RES_NORM_FACTOR_AZURE2019`: resource = count × ms × MB / 10^6."""
DEFAULT_TRIALS = 16
DEFAULT_SWAPS = 200
_STRATIFIED, _SWAPS, _RANDOM, _INVITRO = 0, 1, 2, 3


@dataclass(frozen=True)
class Distances:
    """Mean over the window's minutes of the two Wasserstein distances, and their mean."""

    invocations: float
    resources: float

    @property
    def score(self) -> float:
        return (self.invocations + self.resources) / 2

    def to_json(self) -> dict:
        return {**asdict(self), "mean": self.score}


@dataclass
class SampleSize:
    size: int
    functions: np.ndarray
    """Rows of the pool, ascending (trace order)."""
    ours: Distances
    random_median: Distances
    random_best: Distances
    invitro: Distances
    """invitro's sampler: the best of `trials` uniform draws from its own next bigger sample."""
    calls: int
    expected_calls: float
    """The full trace's calls in the window × size / pool."""

    @property
    def gain(self) -> float:
        """How many times smaller our score is than the best plain random sample's."""
        return self.random_best.score / self.ours.score if self.ours.score else float("inf")


@dataclass
class Sampling:
    trace: Trace
    window: Window
    pool: np.ndarray
    """Rows of `trace.functions` with calls in the window."""
    sizes: list[SampleSize]
    seed: int
    trials: int
    swaps: int


class Measure:
    """Scores samples (rows of the pool) against the whole pool, per minute."""

    def __init__(self, counts: np.ndarray, resource_per_call: np.ndarray):
        self.counts = counts
        self.resources = counts * resource_per_call[:, None]
        self._counts = Reference(self.counts)
        self._resources = Reference(self.resources)
        self.evaluations = 0

    def __call__(self, rows: np.ndarray) -> Distances:
        self.evaluations += 1
        return Distances(float(self._counts.distances(rows).mean()), float(self._resources.distances(rows).mean()))


def resource_per_call(trace: Trace) -> np.ndarray:
    """ms × MB / 10^6 per call: mean duration and mean memory, or the p50s where the files lack the means."""
    functions = trace.functions
    ms = functions["Average"] if "Average" in functions else functions["percentile_Average_50"]
    mb = functions["AverageAllocatedMb"] if "AverageAllocatedMb" in functions else functions["AverageAllocatedMb_pct50"]
    ms = ms.fillna(functions["percentile_Average_50"]).to_numpy(dtype=np.float64)
    mb = mb.fillna(functions["AverageAllocatedMb_pct50"]).to_numpy(dtype=np.float64)
    return ms * mb / RESOURCE_NORM


def draw(
    measure: Measure, parent: np.ndarray, size: int, rng_of: Callable[[int], np.random.Generator], trials: int, swaps: int,
    on_step: Callable[[], None],
) -> tuple[np.ndarray, Distances]:
    """Our sample of `size` rows of `parent`: stratified by rate or by resource (trials
    alternate), the best of `trials`, then refined by `swaps` within its strata."""
    strata = [_Strata(values[parent].mean(axis=1), parent, size) for values in (measure.counts, measure.resources)]
    rng = rng_of(_STRATIFIED)
    best = None
    for trial in range(trials):
        chosen = strata[trial % len(strata)]
        pick = chosen.starts + rng.integers(0, chosen.width)
        distances = measure(chosen.order[pick])
        on_step()
        if best is None or distances.score < best[2].score:
            best = (chosen, pick, distances)
    chosen, pick, distances = best
    rng = rng_of(_SWAPS)
    for _ in range(swaps):
        stratum = rng.choice(size, p=chosen.weights)
        if chosen.width[stratum] > 1:
            proposal = pick.copy()
            proposal[stratum] = chosen.starts[stratum] + rng.integers(0, chosen.width[stratum])
            measured = measure(chosen.order[proposal])
            if measured.score < distances.score:
                pick, distances = proposal, measured
        on_step()
    return np.sort(chosen.order[pick]), distances


class _Strata:
    """`rows` ordered by `key` and cut into `size` strata of equal size (as integers allow);
    `weights`: half uniform, half by each stratum's share of the key, for swap proposals."""

    def __init__(self, key: np.ndarray, rows: np.ndarray, size: int):
        ranks = np.argsort(key, kind="stable")
        self.order = rows[ranks]
        edges = np.arange(size + 1) * len(rows) // size
        self.starts, self.width = edges[:-1], np.diff(edges)
        share = np.add.reduceat(key[ranks], self.starts)
        share = share / share.sum() if share.sum() > 0 else np.full(size, 1 / size)
        self.weights = 0.5 / size + 0.5 * share
        self.weights /= self.weights.sum()


def random_draws(
    measure: Measure, parent: np.ndarray, size: int, rng: np.random.Generator, trials: int, on_step: Callable[[], None]
) -> list[tuple[np.ndarray, Distances]]:
    """`trials` uniform random samples of `size` rows of `parent`, measured."""
    draws = []
    for _ in range(trials):
        rows = rng.choice(parent, size, replace=False)
        draws.append((rows, measure(rows)))
        on_step()
    return draws


def _median(draws: list[tuple[np.ndarray, Distances]]) -> Distances:
    """Per distance, the median of the draws."""
    return Distances(float(np.median([d.invocations for _, d in draws])), float(np.median([d.resources for _, d in draws])))


def _best(draws: list[tuple[np.ndarray, Distances]]) -> tuple[np.ndarray, Distances]:
    return min(draws, key=lambda draw: draw[1].score)


def sample_trace(
    trace_path: Path,
    sizes: list[int],
    *,
    seed: int,
    trials: int = DEFAULT_TRIALS,
    swaps: int = DEFAULT_SWAPS,
    window: tuple[int, int] | None = None,
    choices: TraceChoices = TraceChoices(),
    on_progress: Callable[[int, int], None] | None = None,
) -> Sampling:
    """Read the trace (only the window's counts) and draw nested samples of every size."""
    if not sizes or min(sizes) < 1:
        raise InputError(f"--sizes {' '.join(map(str, sizes))}: expected one or more sizes of at least 1")
    if trials < 1 or swaps < 0:
        raise InputError(f"--trials {trials}, --swaps {swaps}: expected at least 1 trial and no negative swaps")
    asked = Window(window[0], window[1], f"--window {window[0]} {window[1]}") if window else None
    if asked and (asked.start < 0 or asked.length < 1):
        raise InputError(f"{asked.asked}: expected START >= 0 and MINUTES >= 1")
    trace = choices.read(trace_path, window=asked)
    used = asked or Window(0, len(trace.units), "")
    counts = trace.counts_of(used)
    pool = np.flatnonzero(counts.sum(axis=1) > 0)
    ordered = sorted(set(sizes), reverse=True)
    if ordered[0] > len(pool):
        raise InputError(
            f"--sizes {ordered[0]}: the window has only {len(pool):,} functions with calls "
            f"({trace.functions.shape[0] - len(pool):,} more have none), expected sizes up to that"
        )
    measure = Measure(counts[pool], resource_per_call(trace)[pool])
    total = len(ordered) * (3 * trials + swaps)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    parent = invitro_parent = np.arange(len(pool))
    results = []
    full_calls = int(counts.sum())
    for size in ordered:
        def rng_of(purpose: int, size: int = size) -> np.random.Generator:
            return np.random.default_rng([seed, size, purpose])

        rows, ours = draw(measure, parent, size, rng_of, trials, swaps, step)
        plain = random_draws(measure, np.arange(len(pool)), size, rng_of(_RANDOM), trials, step)
        invitro_parent, invitro = _best(random_draws(measure, invitro_parent, size, rng_of(_INVITRO), trials, step))
        results.append(
            SampleSize(size, rows, ours, _median(plain), _best(plain)[1], invitro, int(measure.counts[rows].sum()),
                       full_calls * size / len(pool))
        )  # fmt: skip
        parent = rows
    results.sort(key=lambda result: result.size)
    return Sampling(trace, used, pool, results, seed, trials, swaps)


def _label(unit: str) -> str:
    return re.sub(r"^minute_", "", unit)


def write_samples(sampling: Sampling, output: Path) -> list[Path]:
    """Write every sample's trace folder and `sampling.json`; returns the folders."""
    trace, window = sampling.trace, sampling.window
    counts = trace.counts_of(window)
    labels = [_label(unit) for unit in trace.units[window.start : window.end]]
    functions = trace.functions
    folders = []
    for result in sampling.sizes:
        rows = sampling.pool[result.functions]
        folder = output_folder(Path(output) / str(result.size))
        chosen = functions.iloc[rows]
        invocations = pd.concat(
            [chosen[[*KEY, "Trigger"]].reset_index(drop=True), pd.DataFrame(counts[rows], columns=labels)], axis=1
        )
        durations = chosen[[*KEY, *[c for c in DURATION_EXTRA if c in chosen], *DURATION_COLUMNS]]
        memory = chosen[["HashFunction", "HashOwner", "HashApp", *[c for c in MEMORY_EXTRA if c in chosen], *MEMORY_COLUMNS]]
        for name, table in (("invocations", invocations), ("durations", durations), ("memory", memory)):
            write_output(folder / f"{name}.csv", table.to_csv(index=False, lineterminator="\n").encode())
        folders.append(folder)
    write_output(Path(output) / "sampling.json", (json.dumps(sampling_json(sampling), indent=2) + "\n").encode())
    return folders


def sampling_json(sampling: Sampling) -> dict:
    """The documented contents of `sampling.json`."""
    trace, window = sampling.trace, sampling.window
    return {
        "trace": str(trace.source),
        "format": trace.layout,
        "notes": trace.notes(),
        "window": {
            "start": window.start,
            "minutes": window.length,
            "first_column": trace.units[window.start],
            "last_column": trace.units[window.end - 1],
        },
        "seed": sampling.seed,
        "trials": sampling.trials,
        "swaps": sampling.swaps,
        "resource_norm": RESOURCE_NORM,
        "functions": {
            "trace": int(trace.functions.shape[0]),
            "without_calls_in_window": int(trace.functions.shape[0] - len(sampling.pool)),
            "pool": int(len(sampling.pool)),
            "skipped": dict(trace.skipped),
        },
        "samples": [
            {
                "size": result.size,
                "folder": str(result.size),
                "distances": {
                    "ours": result.ours.to_json(),
                    "random_median": result.random_median.to_json(),
                    "random_best": result.random_best.to_json(),
                    "invitro": result.invitro.to_json(),
                },
                "gain_over_random_best": result.gain,
                "gain_over_invitro": result.invitro.score / result.ours.score if result.ours.score else None,
                "calls": result.calls,
                "calls_scaled_from_trace": result.expected_calls,
                "load_ratio": result.calls / result.expected_calls if result.expected_calls else None,
            }
            for result in sampling.sizes
        ],
    }
