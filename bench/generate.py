"""Benchmark `loadgen generate` end to end on a synthetic busy trace.

Makes a trace of 10 busy functions x 1440 minutes (about 13 million invocations), runs
`loadgen generate --warmup 0 --duration 1440` on it in a child process for each IAT mode,
and prints the wall and CPU time and the child's peak memory (max RSS from wait4).
The machine is shared, so compare CPU time when the load average is high.  Target: <= 5 s and <= 1 GB
on a 2-core machine (the vSwarm generator needs 42 s and 0.8 GB).

    .venv/bin/python bench/generate.py [--iat exponential --iat uniform ...] [--synthetic always] [--keep DIR]

`--synthetic always` makes every function synthetic, so every call also carries a drawn
runtime and memory (the payload lists of load.json): the worst case for the generator.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FUNCTIONS = 10
MINUTES = 1440
CALLS_PER_MINUTE = 9000
SEED = 1


def write_trace(directory: Path) -> int:
    """A 10-function, 1440-minute trace in the Azure layout; returns the invocation total."""
    rng = np.random.default_rng(SEED)
    shares = rng.dirichlet(np.ones(FUNCTIONS)) * CALLS_PER_MINUTE
    counts = rng.poisson(shares[:, None], size=(FUNCTIONS, MINUTES))
    ids = [(f"owner{i}", f"app{i}", f"function{i}") for i in range(FUNCTIONS)]
    durations_ms = np.geomspace(1, 5000, FUNCTIONS)
    memory_mb = np.geomspace(20, 1000, FUNCTIONS)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "invocations.csv", "w") as out:
        out.write(",".join(["HashOwner", "HashApp", "HashFunction", "Trigger", *map(str, range(1, MINUTES + 1))]) + "\n")
        for key, row in zip(ids, counts):
            out.write(",".join([*key, "http", *map(str, row)]) + "\n")
    with open(directory / "durations.csv", "w") as out:
        out.write("HashOwner,HashApp,HashFunction," + ",".join(f"percentile_Average_{p}" for p in (0, 1, 25, 50, 75, 99, 100)) + "\n")
        for key, ms in zip(ids, durations_ms):
            out.write(",".join([*key, *[f"{ms:.1f}"] * 7]) + "\n")
    with open(directory / "memory.csv", "w") as out:
        out.write("HashOwner,HashApp,HashFunction," + ",".join(f"AverageAllocatedMb_pct{p}" for p in (1, 5, 25, 50, 75, 95, 99, 100)) + "\n")
        for key, mb in zip(ids, memory_mb):
            out.write(",".join([*key, *[f"{mb:.1f}"] * 8]) + "\n")
    return int(counts.sum())


def child(arguments: list[str]) -> tuple[float, float, float, str]:
    """Wall and CPU seconds, peak RSS in MB and output of `python -c <loadgen CLI> arguments`."""
    command = [sys.executable, "-c", "from loadgen.cli import main; main()", *arguments]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        sys.exit(f"{' '.join(command)} failed:\n{log}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, log


def run(trace: Path, workdir: Path, iat: str, synthetic: str) -> tuple[float, float, float, int]:
    """Wall and CPU seconds, peak RSS in MB and output bytes of one `loadgen generate`."""
    output = workdir / f"load-{iat}.json"
    wall, cpu, peak_mb, log = child(
        ["generate", "--trace", str(trace), "--warmup", "0", "--duration", str(MINUTES), "--iat", iat,
         "--synthetic", synthetic, "--output", str(output), "--mapping-out", str(workdir / "mapping.csv")]
    )  # fmt: skip
    print(log.strip().splitlines()[-1])
    size = output.stat().st_size
    output.unlink()
    return wall, cpu, peak_mb, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iat", action="append", choices=["exponential", "uniform", "equidistant"])
    parser.add_argument("--keep", type=Path, help="Write the trace and outputs here instead of a temporary folder.")
    parser.add_argument("--synthetic", choices=["never", "fallback", "always"], default="fallback",
                        help="loadgen generate --synthetic (always: every call carries a runtime and memory).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.keep or Path(temporary)
        total = write_trace(workdir / "trace")
        print(f"synthetic trace: {FUNCTIONS} functions x {MINUTES} minutes, {total:,} invocations")
        wall, cpu, _, _ = child(["--help"])
        print(f"  CLI start-up alone (loadgen --help): {wall:.2f} s wall ({cpu:.2f} s CPU), included below")
        for iat in args.iat or ["exponential", "uniform", "equidistant"]:
            wall, cpu, peak_mb, size = run(workdir / "trace", workdir, iat, args.synthetic)
            verdict = "ok" if wall <= 5 and peak_mb <= 1024 else "OVER TARGET"
            print(
                f"{iat:>12}: {wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak_mb:.0f} MB, "
                f"load.json {size / 1e6:.0f} MB  [{verdict}]"
            )


if __name__ == "__main__":
    main()
