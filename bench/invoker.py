"""How fast and how punctual is `invoker replay`? Open-loop fixed-rate runs against a fast sink.

    .venv/bin/python bench/invoker.py [--rates 5000 7000 8500] [--processes 1 2] [--seconds 5] [--repeat 3]
                                      [--invoker-cpus 0,1] [--one-child] [--closed-loop-concurrency 1 4 128]
                                      [--synthetic-share 0 0.5]

Starts `../shared/tools/gosink` (a Go helloworld server, >50k calls/s on one core) on 127.0.0.1,
pinned to the last CPU; `invoker emulate --sink` is a Python server and too slow to measure an
invoker against. For each rate and process count it writes an equidistant load.json (one warm-up
second, then `--seconds` measured seconds, 10 endpoints) and runs the real `invoker replay` CLI,
pinned to the first CPU (with `--processes N` each child pins itself), then reads its results CSV.
In the same run it measures a raw grpc.aio closed loop (128 concurrent calls on one channel with
the invoker's channel options, pinned like the invoker) as the ceiling of one Python process,
with the CPU it spends per call: in the whole process and in the event-loop thread alone
(`--closed-loop-concurrency 1 4 128` shows how that cost grows when calls are not batched, as
in an open-loop replay with few calls in flight).

Pinned to one CPU, the invoker's event loop shares that core with gRPC's poller thread, which
reads every reply. `--invoker-cpus 0,1` (a taskset list) lets the process use those CPUs
instead, the way `invoker replay` runs on a worker node with cores to spare; on a 2-core machine
the poller thread then shares the sink's core. `--one-child` runs each one-process configuration
as one `--processes` child instead (`invoker.processes.run_children`), placed as `invoker replay
--processes N` places its children: its event loop on the first of those CPUs, gRPC's threads on
the rest, or with the loop when there is no other.

`--synthetic-share 0 0.5` replays, at each rate, a proxy-only load and a mixed one where that
share of the endpoints (and calls) are synthetic functions: their calls carry a runtime and
memory and go out as faas.Executor/Execute. The sink serves only SayHello, so it answers them
UNIMPLEMENTED at once, which proves the method on the wire; the replies' cost to the invoker is
that of a failed call, not of decoding a FaasReply, so the codec line printed first gives each
protocol's per-call cost of building a request and reading a reply. The shares' runs are
interleaved (share after share within each repeat), so a busy machine moves them alike.

Printed per configuration (medians over `--repeat` runs, each run in brackets):
achieved rate (measured calls / time from the first measured due time to the last send), the
share of calls that were answered as expected (OK; UNIMPLEMENTED for synthetic calls),
send lag p50/p99/max (µs), latency p50/p99 (µs), and the CPU time of the whole `invoker replay`
process tree per call (start-up and every row included; steadier than the lags when the
machine is shared).
Every subprocess has a time limit; the sink exits by itself after its limit too.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `invoker` package from the closed-loop worker's imports.
sys.path = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
GOSINK = ROOT.parent / "shared" / "tools" / "gosink" / "start.sh"
ENDPOINTS = 10
WARMUP_UNITS = 1
CLOSED_LOOP_SECONDS = 3.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pinned(cpus: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus is not None else command


def start_sink(cpu: str | None, max_seconds: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = pinned(cpu, ["bash", str(GOSINK), str(port), "1", "-max-seconds", str(max_seconds)])
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_listening(sink, port, "gosink", lambda: sink.stdout.read())
    return sink, port


def wait_listening(server: subprocess.Popen, port: int, name: str, output, seconds: float = 20) -> None:
    """Wait until `server` accepts connections on 127.0.0.1:`port`; exit with `output()` if it dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if server.poll() is not None:
            sys.exit(f"{name} exited: {output()}")
        time.sleep(0.05)
    server.kill()
    sys.exit(f"{name} did not listen within {seconds:g} s")


def write_load(path: Path, rate: int, seconds: int, synthetic_share: float = 0.0) -> None:
    """Equidistant calls over `ENDPOINTS` endpoints, the first `synthetic_share` of them synthetic."""
    synthetic = round(synthetic_share * ENDPOINTS)
    offsets = [i * 1_000_000 // rate for i in range(rate)]
    endpoints = [f"{'trace-func' if i % ENDPOINTS < synthetic else 'fn'}-{i % ENDPOINTS}.bench.local" for i in range(rate)]
    unit = {"timestamp": offsets, "endpoint": endpoints}
    if synthetic:
        unit["runtime_ms"] = [100 if i % ENDPOINTS < synthetic else None for i in range(rate)]
        unit["memory_mib"] = [128 if i % ENDPOINTS < synthetic else None for i in range(rate)]
    path.write_text(json.dumps([unit] * (WARMUP_UNITS + seconds)))


def codec_costs() -> str:
    """Per-call µs of building a request and reading a reply, for each protocol."""
    import timeit

    from invoker import faas_pb2, helloworld_pb2, protocols
    from invoker.protocols import faas, sayhello

    say_hello, execute = sayhello.SayHello(), faas.Faas()
    hello_reply = helloworld_pb2.HelloReply(message="Hello | 1234").SerializeToString()
    faas_reply = faas_pb2.FaasReply(message="OK - trace-func-1", durationInMicroSec=100_000, memoryUsageInKb=131_072)
    costs = {}
    for name, build, payload, reply, protocol in (
        ("SayHello", say_hello.request_builder("fn-0.bench.local"), (), hello_reply, say_hello),
        ("Execute", execute.request_builder("trace-func-0.bench.local"), (100, 128), faas_reply.SerializeToString(), execute),
    ):
        invocation_id = protocols.new_invocation_id()
        number = 100_000
        costs[name] = (timeit.timeit(lambda: build(invocation_id, time.time_ns(), payload), number=number) / number * 1e6,
                       timeit.timeit(lambda: protocol.read_reply(reply), number=number) / number * 1e6)
    return "; ".join(f"{name} build {b:.2f} µs, read reply {r:.2f} µs" for name, (b, r) in costs.items())


def replay_once(load: Path, output: Path, port: int, seconds: int, processes: int, cpu: str | None,
                one_child: bool = False) -> dict:  # fmt: skip
    if one_child:
        command = [sys.executable, __file__, "--child-worker", str(load), str(port), str(output), str(seconds)]
    else:
        command = [sys.executable, "-c", "from invoker.cli import main; main()", "replay", str(load), "--quiet",
                   "--granularity", "second", "--warmup", str(WARMUP_UNITS), "--duration", str(seconds),
                   "--ingress", f"127.0.0.1:{port}", "--timeout", "5", "--output", str(output),
                   "--processes", str(processes)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(pinned(cpu if processes == 1 else None, command), check=True, timeout=seconds * 4 + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    rows = pd.read_csv(output, usecols=["phase", "endpoint", "scheduled_us", "sent_us", "lag_us", "latency_us", "status"])
    measured = rows[rows.phase == "measure"]
    span_us = measured.sent_us.max() - WARMUP_UNITS * 1_000_000
    lag = measured.lag_us.to_numpy()
    expected = np.where(measured.endpoint.str.startswith("trace-func-"), "UNIMPLEMENTED", "OK")
    return {
        "achieved": len(measured) / (span_us / 1e6),
        "ok": float((measured.status == expected).mean()),
        "lag_p50": float(np.percentile(lag, 50)),
        "lag_p99": float(np.percentile(lag, 99)),
        "lag_max": float(lag.max()),
        "lat_p50": float(measured.latency_us.median()),
        "lat_p99": float(np.percentile(measured.latency_us, 99)),
        "cpu_us": cpu_s / len(rows) * 1e6,
    }


async def closed_loop(port: int, concurrency: int) -> dict:
    """Calls/s and CPU µs per call of `concurrency` callers awaiting calls back to back on one channel."""
    import grpc
    import uvloop  # noqa: F401 - the caller runs this on uvloop

    from invoker import protocols
    from invoker.protocols import sayhello
    from invoker.dispatch import CHANNEL_OPTIONS

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS) as channel:
        say_hello = sayhello.SayHello().multicallable(channel)
        requests = sayhello.RequestBuilder()
        metadata = protocols.endpoint_metadata("fn-0.bench.local")
        await say_hello(requests.build(protocols.new_invocation_id(), time.time_ns()), metadata=metadata)
        calls = 0
        end = time.perf_counter() + CLOSED_LOOP_SECONDS

        async def caller() -> None:
            nonlocal calls
            while time.perf_counter() < end:
                await say_hello(requests.build(protocols.new_invocation_id(), time.time_ns()), metadata=metadata)
                calls += 1

        started, process_cpu, loop_cpu = time.perf_counter(), time.process_time(), time.thread_time()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return {
            "rate": calls / (time.perf_counter() - started),
            "cpu_us": (time.process_time() - process_cpu) / calls * 1e6,
            "loop_us": (time.thread_time() - loop_cpu) / calls * 1e6,
        }


def one_child(load: Path, port: int, output: Path, seconds: int) -> None:
    """Replay `load` as one `--processes` child of this process; its rows go to `output`."""

    from invoker.dispatch import Reporter, Target
    from invoker.processes import run_children
    from invoker.replay import ReplayOptions, load_schedule
    from loadcore.results import ResultsWriter

    options = ReplayOptions(load, output, "second", WARMUP_UNITS, seconds)
    writer = ResultsWriter(output)

    class ToFile(Reporter):
        def rows(self, rows: list[tuple]) -> None:
            writer.write(rows)

    try:
        run_children(load_schedule(options).schedule, Target(ingress=f"127.0.0.1:{port}", timeout=5), 1, ToFile())
    finally:
        writer.close()


def closed_loop_once(port: int, concurrency: int, cpu: str | None) -> dict:
    command = [sys.executable, __file__, "--closed-loop-worker", str(port), str(concurrency)]
    done = subprocess.run(pinned(cpu, command), check=True, capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout)


def fmt(runs: list[dict], key: str, unit: str = "") -> str:
    values = [run[key] for run in runs]
    each = " ".join(f"{value:,.0f}" if key != "ok" else f"{value:.3f}" for value in values)
    middle = statistics.median(values)
    return (f"{middle:,.0f}" if key != "ok" else f"{middle:.3f}") + f"{unit} [{each}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[5000, 7000, 8500])
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--invoker-cpus", help="taskset CPU list for one-process runs (default: the first CPU)")
    parser.add_argument("--closed-loop-concurrency", type=int, nargs="+", default=[128])
    parser.add_argument("--one-child", action="store_true", help="one-process runs as one --processes child")
    parser.add_argument("--synthetic-share", type=float, nargs="+", default=[0.0],
                        help="share of endpoints that are synthetic functions (faas.Executor), one run set each")
    parser.add_argument("--closed-loop-worker", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_worker:
        load, port, output, seconds = args.child_worker
        one_child(Path(load), int(port), Path(output), int(seconds))
        return
    if args.closed_loop_worker:
        import uvloop

        print(json.dumps(uvloop.run(closed_loop(*args.closed_loop_worker))))
        return

    cpus = sorted(os.sched_getaffinity(0))
    invoker_cpu, sink_cpu = (str(cpus[0]), str(cpus[-1])) if len(cpus) > 1 else (None, None)
    invoker_cpu = args.invoker_cpus or invoker_cpu
    shares = args.synthetic_share
    budget = args.repeat * (len(args.rates) * len(args.processes) * len(shares) * (args.seconds * 4 + 60)
                            + 60 * len(args.closed_loop_concurrency))
    sink, port = start_sink(sink_cpu, budget)
    print(f"cpus {cpus}: invoker on {invoker_cpu}, gosink on {sink_cpu}; {args.seconds} s measured per run, "
          f"median of {args.repeat} [each run]")  # fmt: skip
    if shares != [0.0]:
        print(f"codec per call: {codec_costs()}", flush=True)
    try:
        for concurrency in args.closed_loop_concurrency:
            runs = [closed_loop_once(port, concurrency, invoker_cpu) for _ in range(args.repeat)]
            print(f"grpc.aio closed loop (uvloop, {concurrency} concurrent, one process): {fmt(runs, 'rate')} calls/s, "
                  f"CPU per call {fmt(runs, 'cpu_us')} µs, of which the event-loop thread {fmt(runs, 'loop_us')} µs",
                  flush=True)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="bench-invoker-") as folder:
            for processes in args.processes:
                for rate in args.rates:
                    loads = {share: Path(folder) / f"load-{rate}-{share}.json" for share in shares}
                    for share, load in loads.items():
                        write_load(load, rate, args.seconds, share)
                    child = args.one_child and processes == 1
                    runs = {share: [] for share in shares}
                    for _ in range(args.repeat):
                        for share, load in loads.items():
                            runs[share].append(replay_once(load, Path(folder) / "out.csv", port, args.seconds, processes,
                                                           invoker_cpu, child))  # fmt: skip
                    how = "one child" if child else f"--processes {processes}"
                    for share, share_runs in runs.items():
                        mix = f", {share:.0%} synthetic" if shares != [0.0] else ""
                        print(f"replay {how} at {rate:,}/s{mix}: achieved {fmt(share_runs, 'achieved', '/s')}, "
                              f"OK {fmt(share_runs, 'ok')}, send lag p50 {fmt(share_runs, 'lag_p50')} "
                              f"p99 {fmt(share_runs, 'lag_p99')} max {fmt(share_runs, 'lag_max')} µs, latency p50 "
                              f"{fmt(share_runs, 'lat_p50')} p99 {fmt(share_runs, 'lat_p99')} µs, CPU per call "
                              f"{fmt(share_runs, 'cpu_us')} µs", flush=True)  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(10)


if __name__ == "__main__":
    main()
