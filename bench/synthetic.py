"""Synthetic traces at the scale of the real ones, for the trace and sample benchmarks.

- `write_day(folder)`: one day of the Azure Functions 2019 trace under the official names
  (`invocations_per_function_md.anon.d01.csv`, `function_durations_percentiles.anon.d01.csv`,
  `app_memory_percentiles.anon.d01.csv`): 46,000 functions in 17,000 apps of 12,000 owners,
  1,440 minutes, about 545,000 calls a minute, mean rates log-normal over 7 orders of magnitude
  (once a day to ~10^4 a minute), timers firing on fixed periods, other triggers Poisson with
  a daily swing, per-app memory (12 columns), 64-hex ids; about 146 MB of invocations.
- `write_2021(path)`: an Azure Functions 2021 invocation trace (`app,func,end_timestamp,duration`,
  seconds) of 2,000,000 calls by 424 functions in 119 apps over 14 days, a few of them ending
  before their duration has passed since the trace start (negative starts).

Both are seeded: the same call writes the same bytes.  Run as a script to write them:

    .venv/bin/python bench/synthetic.py day DIR
    .venv/bin/python bench/synthetic.py 2021 FILE
"""

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

FUNCTIONS, APPS, OWNERS, MINUTES = 46_000, 17_000, 12_000, 1_440
CALLS_PER_MINUTE = 545_000
TRIGGERS = {"http": 0.35, "timer": 0.3, "queue": 0.15, "event": 0.08, "storage": 0.05, "orchestration": 0.05, "others": 0.02}
TIMER_PERIODS = np.array([1, 5, 15, 60, 360, 1440])
DURATION_SHAPE = np.array([0.2, 0.3, 0.7, 0.9, 1.2, 3.0, 5.0])  # p0 p1 p25 p50 p75 p99 p100 / mean
MEMORY_SHAPE = np.array([0.7, 0.8, 0.9, 1.0, 1.1, 1.3, 1.4, 1.5])  # pct1 ... pct100 / mean
DAY_NAMES = (
    "invocations_per_function_md.anon.d{:02d}.csv",
    "function_durations_percentiles.anon.d{:02d}.csv",
    "app_memory_percentiles.anon.d{:02d}.csv",
)


def hex_ids(kind: str, n: int) -> np.ndarray:
    """n distinct 64-hex ids, salted by `kind` like the trace's per-column HMACs."""
    return np.array([hashlib.sha256(f"{kind}{i}".encode()).hexdigest() for i in range(n)])


def _apps_of_functions(rng: np.random.Generator) -> np.ndarray:
    """Every app gets one function, the rest go to apps with heavy-tailed popularity; sorted so
    an app's functions are neighbours, as in the trace."""
    weights = rng.pareto(1.2, APPS) + 1
    extra = rng.choice(APPS, FUNCTIONS - APPS, p=weights / weights.sum())
    return np.sort(np.concatenate([np.arange(APPS), extra]))


def _day_counts(rng: np.random.Generator, triggers: np.ndarray) -> np.ndarray:
    """[functions, minutes] counts: log-normal mean rates scaled to `CALLS_PER_MINUTE`."""
    rate = np.clip(rng.lognormal(np.log(0.5), 2.5, FUNCTIONS), 1 / MINUTES, 30_000)
    rate *= CALLS_PER_MINUTE / rate.sum()
    minute = np.arange(MINUTES)
    phase = rng.uniform(0, MINUTES, FUNCTIONS)
    swing = 1 + rng.uniform(0, 0.6, FUNCTIONS)[:, None] * np.sin(2 * np.pi * (minute[None, :] - phase[:, None]) / MINUTES)
    counts = rng.poisson(rate[:, None] * swing).astype(np.int32)
    timers = np.flatnonzero(triggers == "timer")
    period = np.minimum(TIMER_PERIODS[np.searchsorted(TIMER_PERIODS, 1 / np.maximum(rate[timers], 1e-9))], MINUTES)
    period = np.where(rate[timers] >= 1, 1, period)
    per_firing = np.maximum(np.rint(rate[timers] * period), 1).astype(np.int32)
    offset = rng.integers(0, period)
    fires = (minute[None, :] - offset[:, None]) % period[:, None] == 0
    counts[timers] = fires * per_firing[:, None]
    return counts


def _write(path: Path, columns: dict) -> None:
    pacsv.write_csv(pa.table(columns), path, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))


def write_day(folder: Path, day: int = 1, seed: int = 2019) -> int:
    """Write one synthetic day under the official names in `folder`; returns its call total."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    apps = _apps_of_functions(rng)
    app_owner = rng.integers(0, OWNERS, APPS)
    owner_ids, app_ids, function_ids = hex_ids("owner", OWNERS), hex_ids("app", APPS), hex_ids("function", FUNCTIONS)
    owners = owner_ids[app_owner[apps]]
    triggers = rng.choice(list(TRIGGERS), FUNCTIONS, p=list(TRIGGERS.values()))
    counts = _day_counts(rng, triggers)
    invocations, durations, memory = (folder / name.format(day) for name in DAY_NAMES)
    key = {"HashOwner": owners, "HashApp": app_ids[apps], "HashFunction": function_ids}
    _write(invocations, {**key, "Trigger": triggers, **{str(m + 1): counts[:, m] for m in range(MINUTES)}})
    mean_ms = np.rint(np.clip(rng.lognormal(np.log(300), 2.0, FUNCTIONS), 1, 500_000))
    spread = np.rint(mean_ms[:, None] * DURATION_SHAPE[None, :])
    percentiles = ["percentile_Average_" + p for p in ("0", "1", "25", "50", "75", "99", "100")]
    _write(durations, {**key, "Average": mean_ms, "Count": counts.sum(axis=1), "Minimum": spread[:, 0],
                       "Maximum": spread[:, -1], **dict(zip(percentiles, spread.T))})  # fmt: skip
    app_mb = np.rint(np.clip(rng.lognormal(np.log(150), 0.7, APPS), 10, 4_000))
    levels = np.rint(app_mb[:, None] * MEMORY_SHAPE[None, :])
    names = ["AverageAllocatedMb_pct" + p for p in ("1", "5", "25", "50", "75", "95", "99", "100")]
    _write(memory, {"HashOwner": owner_ids[app_owner], "HashApp": app_ids, "SampleCount": rng.integers(1000, 20_000, APPS),
                    "AverageAllocatedMb": app_mb, **dict(zip(names, levels.T))})  # fmt: skip
    return int(counts.sum())


def write_2021(path: Path, calls: int = 2_000_000, functions: int = 424, apps: int = 119, seed: int = 2021) -> int:
    """Write a synthetic 2021 per-invocation trace to `path`; returns how many calls start
    before the trace does (their end is earlier than their duration)."""
    rng = np.random.default_rng(seed)
    app_of = np.sort(np.concatenate([np.arange(apps), rng.integers(0, apps, functions - apps)]))
    share = rng.lognormal(0, 2.0, functions)
    per_function = rng.multinomial(calls, share / share.sum())
    function = np.repeat(np.arange(functions), per_function)
    seconds = 14 * 86_400
    start = rng.uniform(0, seconds, calls)
    duration = np.round(rng.lognormal(np.log(0.5), 1.5, calls), 6) * (rng.random(calls) > 0.03)
    early = rng.choice(calls, 20, replace=False)
    start[early] = -rng.uniform(0, 0.5, 20) * duration[early]
    end = np.round(np.maximum(start + duration, 0), 6)
    order = np.argsort(end, kind="stable")
    app_ids, function_ids = hex_ids("app2021", apps), hex_ids("function2021", functions)
    _write(path, {"app": app_ids[app_of[function[order]]], "func": function_ids[function[order]],
                  "end_timestamp": end[order], "duration": duration[order]})  # fmt: skip
    return int((end < duration).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["day", "2021"])
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    if args.kind == "day":
        print(f"wrote {args.path}: {write_day(args.path):,} calls")
    else:
        print(f"wrote {args.path}: {write_2021(args.path):,} calls start before the trace")


if __name__ == "__main__":
    main()
