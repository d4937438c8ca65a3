"""Benchmark reading load.json for a replay: the first units of a day-long file, and all of it.

Writes the 13-million-call, 1440-minute load.json of `bench/generate.py` (about 970 MB), then
times, in a fresh child process each, what `invoker replay` does before its first call
(`invoker.replay.load_schedule`) for `--warmup 0 --duration 1`, the defaults (2 + 20
minutes) and the whole day, and prints wall and CPU time and the child's peak memory (max RSS
from wait4). Target: a short replay costs what its units cost, not what the file holds (the
whole file took 16 s and 4.5 GB before the first call of `--duration 1`).

    .venv/bin/python bench/load_read.py [--keep DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import MINUTES, child, write_trace

READ = """
import sys
from pathlib import Path
from invoker.replay import ReplayOptions, load_schedule
schedule, _ = load_schedule(ReplayOptions(Path(sys.argv[1]), warmup=int(sys.argv[2]), duration=int(sys.argv[3])))
print(len(schedule))
"""


def read(load: Path, warmup: int, duration: int) -> tuple[float, float, float, int]:
    """Wall and CPU seconds, peak RSS in MB and scheduled calls of one `load_schedule`."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", READ, str(load), str(warmup), str(duration)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        sys.exit(f"load_schedule failed:\n{log}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, int(log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Write the trace and load.json here instead of a temporary folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.keep or Path(temporary)
        write_trace(workdir / "trace")
        load = workdir / "load.json"
        child(["generate", "--trace", str(workdir / "trace"), "--warmup", "0", "--duration", str(MINUTES),
               "--output", str(load), "--mapping-out", str(workdir / "mapping.csv")])
        print(f"load.json: {MINUTES} minutes, {load.stat().st_size / 1e6:.0f} MB")
        for warmup, duration in ((0, 1), (2, 20), (0, MINUTES)):
            wall, cpu, peak_mb, calls = read(load, warmup, duration)
            print(f"  --warmup {warmup} --duration {duration:>4}: {calls:>10,} calls scheduled in {wall:.2f} s wall "
                  f"({cpu:.2f} s CPU), peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
