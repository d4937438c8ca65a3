"""Benchmark the trace stage at the scale of the real traces, end to end through the CLI.

Writes the synthetic full day and the synthetic 2021 trace of `bench/synthetic.py` (or reuses
them from `--keep DIR`), then runs in child processes and prints wall time, CPU time and peak
memory (max RSS from wait4) against the targets of issue 9 on a 2-core machine:

- `loadgen generate` on the day, all 46,000 functions, 22 minutes: <= 6 s, <= 700 MB;
- `loadgen sample --sizes 100 500 1000 --window 539 150` of the day: <= 20 s, <= 1.5 GB;
- `loadgen generate` of a 60-minute window of the 2-million-call 2021 trace: <= 5 s.

The machine is shared, so compare CPU time when the load average is high.

    .venv/bin/python bench/trace.py [--keep DIR] [--only generate-day sample-day generate-2021]
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from generate import child
from synthetic import write_2021, write_day

TARGETS = {"generate-day": (6, 700), "sample-day": (20, 1536), "generate-2021": (5, None)}


def commands(workdir: Path) -> dict[str, list[str]]:
    day, calls = workdir / "day", workdir / "2021.txt"
    outputs = ["--output", str(workdir / "load.json"), "--mapping-out", str(workdir / "mapping.csv")]
    return {
        "generate-day": ["generate", "--trace", str(day), *outputs],
        "sample-day": ["sample", "--sizes", "100", "500", "1000", "--window", "539", "150", "--trace", str(day),
                       "--output", str(workdir / "samples")],  # fmt: skip
        "generate-2021": ["generate", "--trace", str(calls), "--warmup", "0", "--duration", "60", *outputs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Write (or reuse) the traces and outputs here instead of a temporary folder.")
    parser.add_argument("--only", nargs="+", choices=list(TARGETS), help="Run only these measurements.")
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_only:
        if not (args.write_only / "day").is_dir():
            print(f"synthetic day: {write_day(args.write_only / 'day'):,} calls")
        if not (args.write_only / "2021.txt").is_file():
            print(f"synthetic 2021 trace: 2,000,000 calls, {write_2021(args.write_only / '2021.txt')} start before the trace")
        return
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.keep or Path(temporary)
        # Written by a child: a measured child's peak RSS counts this process's memory at fork time.
        subprocess.run([sys.executable, __file__, "--write-only", str(workdir)], check=True)
        wall, cpu, _, _ = child(["--help"])
        print(f"CLI start-up alone (loadgen --help): {wall:.2f} s wall ({cpu:.2f} s CPU), included below")
        for name, arguments in commands(workdir).items():
            if args.only and name not in args.only:
                continue
            (workdir / "load.json").unlink(missing_ok=True)  # replacing a big old file would be timed too
            wall, cpu, peak_mb, log = child(arguments)
            seconds, megabytes = TARGETS[name]
            ok = wall <= seconds and (megabytes is None or peak_mb <= megabytes)
            limit = f"<= {seconds} s" + (f", <= {megabytes} MB" if megabytes else "")
            print(f"{name:>14}: {wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak_mb:.0f} MB  [{'ok' if ok else 'OVER TARGET'}: {limit}]")
            print("                " + log.strip().splitlines()[-1][:150])


if __name__ == "__main__":
    main()
