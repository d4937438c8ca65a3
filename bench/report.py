"""Benchmark `loadgen report` on large results files, and `CallStats.add_rows` per row.

Writes N synthetic results rows (default 4 million, 250 endpoints, 22 minute units, 2 % failures
with quoted multi-line error details) split over two worker files (shards 1/2 and 2/2 of one run), runs `loadgen report` on
them in a child process, and prints the wall time, rows/s and the child's peak memory (max
RSS from wait4). Memory should stay flat as N grows, apart from the 8 bytes per row of the
de-duplication set. Then times `CallStats.add_rows` on batches of rows, the invoker's per-call
path.

    .venv/bin/python bench/report.py [--rows 4000000] [--keep DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds scripts named like the packages (bench/invoker.py): import the packages instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

UNIT_US = 60_000_000
UNITS = 22
ENDPOINTS = 250


RUN = ("20261203T100000Z-0123456789ab", 1_796_292_000_000_000)  # run id, t0 (µs)


def write_results(path: Path, rows: int, seed: int, id_offset: int, shard: str) -> None:
    import numpy as np
    import pandas as pd

    from loadcore.results import COLUMNS

    rng = np.random.default_rng(seed)
    chunk = 500_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        unit = rng.integers(0, UNITS, n)
        scheduled = unit * UNIT_US + rng.integers(0, UNIT_US, n)
        lag = rng.exponential(500, n).astype(np.int64)
        latency = rng.lognormal(9, 1.2, n).astype(np.int64)
        failed = rng.random(n) < 0.02
        ids = np.arange(id_offset + start, id_offset + start + n)
        table = pd.DataFrame({
            "unit": unit,
            "phase": np.where(unit < 2, "warmup", "measure"),
            "endpoint": pd.Categorical.from_codes(rng.integers(0, ENDPOINTS, n),
                                                  [f"fn{i}-0123456789.default.127.0.0.1.sslip.io" for i in range(ENDPOINTS)]),
            "invocation_id": [f"00000000-0000-4000-8000-{i:012d}" for i in ids],
            "scheduled_us": scheduled,
            "sent_us": scheduled + lag,
            "lag_us": lag,
            "latency_us": latency,
            "latency_from_schedule_us": latency + lag,
            "status": np.where(failed, "UNAVAILABLE", "OK"),
            "error": np.where(failed, 'connect failed: "refused",\nretrying', ""),
            "service_us": np.where(failed, "", (latency // 2).astype(str)),
            "run_id": RUN[0],
            "shard": shard,
            "host": f"worker-{shard[0]}",
            "t0_unix_us": RUN[1],
        }, columns=list(COLUMNS))
        table.to_csv(path, mode="w" if start == 0 else "a", header=start == 0, index=False, lineterminator="\n")


def run_report(files: list[Path], out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of `loadgen report` in a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", "from loadgen.cli import main; main()", "report", *map(str, files), "--output-dir", str(out)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"loadgen report failed with status {status}")
    return elapsed, usage.ru_maxrss * 1024


def time_add(rows: int = 200_000, batch: int = 64) -> float:
    """µs per row of `CallStats.add_rows` in batches of `batch` rows, as the invoker feeds it."""
    from loadcore.results import ResultRow
    from loadcore.stats import CallStats

    rows_batch = [ResultRow(3, "measure", "e", "id", 0, 5, 5, 1000, 1005, "OK", "", 500, "", "e-1", "false", "", "",
                            RUN[0], "1/2", "w", RUN[1])] * batch
    stats = CallStats()
    started = time.perf_counter()
    for _ in range(rows // batch):
        stats.add_rows(rows_batch)
    stats.percentiles("latency_us")
    return (time.perf_counter() - started) / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--keep", type=Path, help="Write the files here and keep them.")
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_only:
        for number in range(2):
            write_results(args.write_only / f"worker{number + 1}.csv", args.rows // 2, seed=number,
                          id_offset=number * args.rows, shard=f"{number + 1}/2")
        return
    # This process stays small (no numpy/pandas) while it starts the report: a child's peak RSS
    # counts its parent's memory at fork time.
    with tempfile.TemporaryDirectory() as temporary:
        directory = args.keep or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--write-only", str(directory)], check=True)
        files = [directory / "worker1.csv", directory / "worker2.csv"]
        size = sum(path.stat().st_size for path in files)
        print(f"wrote {args.rows:,} rows ({size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s")
        elapsed, rss = run_report(files, directory / "report")
        print(f"loadgen report: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s, peak RSS {rss / 2**20:,.0f} MiB")
    print(f"CallStats.add_rows: {time_add():.2f} µs per row")


if __name__ == "__main__":
    main()
