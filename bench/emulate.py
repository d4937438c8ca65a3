"""How many calls/s does `invoker emulate` serve on one core, scaling on? Open-loop runs of the real
`invoker replay` against the real `invoker emulate`, each pinned to its own CPU.

    .venv/bin/python bench/emulate.py [--rates 3000 4000] [--modes scaling warm sink] [--seconds 5] [--repeat 3]

The emulator serves 10 functions (`fn-<i>.bench.local`, one mapping row each) whose proxy takes
0 ms, so a run measures the emulator's own cost per call, not the service time it waits out:
with scaling on (the default: each call placed on an instance by `invoker.scaling`, cold starts
by memory, here 300 ms for 5 MB, containerConcurrency 1, trailing metadata on every reply),
`--warm` (always warm, trailing metadata still sent) and `--sink` (no function table at all).
The first second of each run is warm-up (the cold starts happen there); then `--seconds`
measured seconds at the rate. The emulator is pinned to the last CPU, the invoker to the first.

Printed per mode and rate (medians over `--repeat` runs, each run in brackets): the achieved
rate and OK share (as `bench/invoker.py` computes them), latency p50/p99 (µs; the emulator's
queueing shows here), and the emulator's CPU time per call (user + system, whole process,
whole run) with the calls/s one core would serve at that cost. Every subprocess has a time
limit.
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

# bench/ holds scripts named like the packages (bench/invoker.py): import the packages instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

_spec = importlib.util.spec_from_file_location("bench_invoker", Path(__file__).with_name("invoker.py"))
bench_invoker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_invoker)

MODES = {"scaling": [], "warm": ["--warm"], "sink": ["--sink"]}
PROXY = "zero"


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """A mapping.csv of the bench's endpoints and a profile.json whose one proxy takes 0 ms."""
    from loadcore.mappingfile import COLUMNS, KIND_PROXY, PROTOCOLS, write_mapping

    profile = folder / "profile.json"
    profile.write_text('{"%s": {"name": "%s", "yaml": "x.yaml", "cpu": {}, "memory": {"75-percentile": 5.0},'
                       ' "duration": {"0-percentile": 0.0, "100-percentile": 0.0}}}' % (PROXY, PROXY))
    rows = [("o", "a", f"f{i}", "http", 5.0, 0.0, PROXY, 5.0, 0.0, 0.0, f"fn-{i}", f"fn-{i}.bench.local", "ready",
             KIND_PROXY, PROTOCOLS[KIND_PROXY])
            for i in range(bench_invoker.ENDPOINTS)]  # fmt: skip
    mapping = folder / "mapping.csv"
    write_mapping(pd.DataFrame(rows, columns=COLUMNS), mapping)
    return mapping, profile


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_emulator(mode: str, mapping: Path, profile: Path, cpu: str | None, folder: Path) -> tuple[subprocess.Popen, int]:
    port = bench_invoker.free_port()
    serves = ["--sink"] if mode == "sink" else [str(mapping), "--profile", str(profile), *MODES[mode]]
    command = [sys.executable, "-c", "from invoker.cli import main; main()", "emulate", *serves, "--port", str(port)]
    log = folder / "emulate.log"
    emulator = subprocess.Popen(bench_invoker.pinned(cpu, command), stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    bench_invoker.wait_listening(emulator, port, "invoker emulate", log.read_text)
    return emulator, port


def run_once(mode: str, rate: int, seconds: int, folder: Path, cpus: tuple[str | None, str | None]) -> dict:
    mapping, profile = write_inputs(folder)
    load = folder / f"load-{rate}.json"
    bench_invoker.write_load(load, rate, seconds)
    emulator, port = start_emulator(mode, mapping, profile, cpus[1], folder)
    try:
        before = cpu_seconds(emulator.pid)
        outcome = bench_invoker.replay_once(load, folder / "out.csv", port, seconds, 1, cpus[0])
        used = cpu_seconds(emulator.pid) - before
    finally:
        emulator.terminate()
        emulator.wait(10)
    calls = len(pd.read_csv(folder / "out.csv", usecols=["phase"]))
    cpu_us = used / calls * 1e6
    return {**outcome, "cpu_us": cpu_us, "per_core": 1e6 / cpu_us}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[3000, 4000])
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    placed = (str(cpus[0]), str(cpus[-1])) if len(cpus) > 1 else (None, None)
    print(f"cpus {cpus}: invoker on {placed[0]}, emulator on {placed[1]}; {args.seconds} s measured per run, "
          f"median of {args.repeat} [each run]")  # fmt: skip
    fmt = bench_invoker.fmt
    with tempfile.TemporaryDirectory(prefix="bench-emulate-") as folder:
        for mode in args.modes:
            for rate in args.rates:
                runs = [run_once(mode, rate, args.seconds, Path(folder), placed) for _ in range(args.repeat)]
                each = " ".join(f"{run['cpu_us']:.0f}" for run in runs)
                print(f"emulate {mode} at {rate:,}/s: achieved {fmt(runs, 'achieved', '/s')}, OK {fmt(runs, 'ok')}, "
                      f"latency p50 {fmt(runs, 'lat_p50')} p99 {fmt(runs, 'lat_p99')} µs, "
                      f"emulator CPU {statistics.median(run['cpu_us'] for run in runs):.0f} µs per call [{each}] "
                      f"= {fmt(runs, 'per_core')} calls/s per core", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
