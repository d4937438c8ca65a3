"""How long does the emulator's scaling model take to place a call, as a function's instances grow?

Places 5 s of equidistant calls to one function (`invoker.scaling.FunctionScaler`, the
emulator's defaults: containerConcurrency 1, keep-alive 60 s) at each configuration below and
prints the µs per call and the instances made: from a quiet function to one that needs
thousands of instances at once. Pure Python, no server: the figure is the model's own cost,
which `invoker emulate` pays under a lock for every call.

    .venv/bin/python bench/scaling.py [--repeat 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

# bench/ holds scripts named like the packages (bench/invoker.py): import the packages instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from invoker.scaling import FunctionScaler, Policy  # noqa: E402

CONFIGURATIONS = ((300, 300, 0), (2_000, 1_250, 50), (2_000, 1_250, 500), (5_000, 1_250, 1_000))
"""(calls/s, cold start ms, service ms)"""
SECONDS = 5


def per_call_us(rate: int, cold_ms: int, service_ms: int) -> tuple[float, int]:
    model = FunctionScaler(cold_ms * 1_000, Policy())
    calls = rate * SECONDS
    started = time.perf_counter()
    for call in range(calls):
        model.place(call * 1_000_000 // rate, service_ms * 1_000)
    return (time.perf_counter() - started) / calls * 1e6, model.created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for rate, cold_ms, service_ms in CONFIGURATIONS:
        runs = [per_call_us(rate, cold_ms, service_ms) for _ in range(args.repeat)]
        each = " ".join(f"{us:.1f}" for us, _ in runs)
        print(f"{rate:,} calls/s, cold start {cold_ms:,} ms, service {service_ms:,} ms: "
              f"{statistics.median(us for us, _ in runs):.1f} µs per call [{each}], {runs[0][1]:,} instances")


if __name__ == "__main__":
    main()
