"""Emulated functions: one gRPC server that answers many functions on one port.

Like a Knative ingress, it tells the functions apart by the call's target endpoint: the
`x-loadgen-endpoint` header (`invoker.protocols.ENDPOINT_HEADER`, always sent by `invoker
replay`) or else the host part of the call's `:authority`. Each protocol of
`invoker.protocols` has its handler here (`HANDLERS`), all served on the same port. The
functions come from `mapping.csv` (`loadcore.mappingfile`): each row with an endpoint, or with
only a service name (not deployed yet), is served under that name, unless its status is
`failed: ...`; the row's `protocol` says what it answers.

- A proxy (vSwarm's SayHello) waits for a service time drawn from its proxy's duration
  percentiles in `profile.json` (`ServiceTime`) and replies `"<proxy> (pid <pid>) | <µs>"`,
  ending in that time like the relay of a real proxy.
- A synthetic function (invitro's faas.Executor/Execute) runs for the runtime its request asks
  for, by waiting (default) or, with `busy`, by spinning on a CPU until its thread has used
  that much CPU time, so that it stretches under contention as trace-func-go's calibrated busy
  loop does. It replies like trace-func-go: `"OK - <function> (pid <pid>)"`, its wall time in
  `durationInMicroSec` (from when its instance took the call: a real function's handler does
  not see the cold start or the queue before it) and the requested memory × 1024 in
  `memoryUsageInKb` (trace-func-go echoes it too). A runtime of 0 fails with UNKNOWN
  `non-positive execution time`, as trace-func-go refuses it; with `Faults.mem_alloc_limit_mib`,
  a request for more memory gets trace-func-go's `"FAILURE - mem_alloc timeout - ..."` reply as
  soon as its instance takes it.

A call of the other protocol than its function's gets UNIMPLEMENTED (as a real proxy or
trace-func-go would answer), an unknown endpoint NOT_FOUND naming it. A sink
(`functions=None`) answers every endpoint of either protocol at once (`"sink (pid <pid>) | 0"`,
or an Execute reply of 0 µs).

Functions of both protocols scale as on Knative (`Scaling`, the model in `invoker.scaling`):
each call is placed on an instance (`Emulation.serve`), waits for it if it is starting or busy,
then runs for its service time (a proxy's draw, a synthetic call's requested runtime), and its
reply's trailing metadata says which instance served it and whether the call paid that
instance's cold start (`invoker.protocols.INSTANCE_TRAILER`, `COLD_TRAILER`). `Scaling(warm=True)`
serves every call at once on one always-warm instance per function. `Scaling.output` gets the
instance counts over time as scaling.csv (`loadcore.scalingfile`). A call that fails before it
reaches an instance (NOT_FOUND, UNIMPLEMENTED, an emulated fault, a runtime of 0) names none.

The server is grpcio's thread-pool server, not grpc.aio: it was faster here (about 4.5k against
2.7-3.4k sink calls/s on one core) and it exposes the call's `:authority`, which grpc.aio
servicers cannot see. A call holds a pool thread while it waits, and a cancelled or expired call
releases it at once; calls beyond `concurrency` in one process queue for a thread.
"""

import bisect
import os
import queue
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from invoker import faas_pb2, grpc_internals, helloworld_pb2
from invoker.protocols import COLD_TRAILER, ENDPOINT_HEADER, INSTANCE_TRAILER, PROTOCOLS
from invoker.protocols.faas import MEM_ALLOC_FAILURE, Faas
from invoker.protocols.sayhello import SayHello
from invoker.scaling import US_PER_MS, Policy, Scaler, cold_start_ms
from loadcore.errors import InputError
from loadcore.files import output_error
from loadcore.scalingfile import ScalingWriter

DEFAULT_CONCURRENCY = 1000
STOP_GRACE_S = 1.0
# gRPC core holds calls the server has not picked up yet in a backlog it trims at random past
# 1,000 calls and entirely past 3,000, and the client sees those calls as CANCELLED. A burst
# beyond what the serving thread picks up (a few thousand calls/s) hit that, which a function
# behind Knative's queue would not do: here such calls wait, like the calls beyond --concurrency.
UNBOUNDED_BACKLOG = [("grpc.server.max_pending_requests", 2**31 - 1), ("grpc.server.max_pending_requests_hard_limit", 2**31 - 1)]
FAILURE_DETAIL = "emulated function failure"
ZERO_RUNTIME_DETAIL = "non-positive execution time"  # trace-func-go's error for a runtime of 0
UINT32_MAX = 2**32 - 1
SCALING_FLUSH_S = 0.5  # how often the instance counts go to Scaling.output


class ServiceTime:
    """A proxy's service time: pick a percentile bracket with u ~ U[0,1), interpolate inside it.

    With points (p_i, v_i) from profile.json, u falls in the bracket p_i <= 100u < p_i+1 with
    probability (p_i+1 - p_i) / 100, and the time is v_i + (v_i+1 - v_i)(100u - p_i)/(p_i+1 - p_i):
    the piecewise-linear inverse CDF through the percentiles, so draws stay within [v_0, v_last].
    The profiler's "percentiles" are those of running means (p100 is the mean of its samples),
    so the emulated spread is narrower than the proxy's real one.
    """

    def __init__(self, percentiles: list[float], milliseconds: list[float]):
        if not percentiles or len(percentiles) != len(milliseconds):
            raise ValueError("ServiceTime needs one duration per percentile, at least one")
        self.percentiles = list(percentiles)
        self.milliseconds = list(milliseconds)

    def draw_us(self, u: float) -> int:
        """The service time in µs for a uniform draw `u` in [0, 1)."""
        points, values = self.percentiles, self.milliseconds
        x = 100.0 * u
        i = bisect.bisect_right(points, x) - 1
        if i < 0:
            value = values[0]
        elif i >= len(points) - 1:
            value = values[-1]
        else:
            value = values[i] + (values[i + 1] - values[i]) * (x - points[i]) / (points[i + 1] - points[i])
        return round(value * 1000.0)


@dataclass(frozen=True)
class EmulatedFunction:
    """A function to emulate: a proxy (`service_time` from its profile) or a synthetic function
    (protocol `faas`, no service time: each call names its runtime), and its memory (MB; None
    when unknown), which sets its cold-start delay unless `Scaling.cold_start_ms` does."""

    proxy: str
    service_time: ServiceTime | None
    protocol: str = SayHello.name
    memory_mb: float | None = None


@dataclass(frozen=True)
class Scaling:
    """How the emulated functions scale (proxies and synthetic functions alike). The defaults
    are `invoker emulate`'s:

    - `cold_start_ms` None: each function's delay follows its memory as invitro's trace function
      does (`invoker.scaling.cold_start_ms`: up to 10 MB 300 ms, up to 60 MB 750 ms, else
      1,250 ms; STeLLAR's AWS figures), from the trace memory in mapping.csv;
    - `policy.container_concurrency` 1, as invitro's Knative template (0: no limit);
    - `policy.keep_alive_us` 60 s: Knative's 60 s stable window, after which the KPA scales an
      idle revision to zero (its 30 s scale-to-zero grace period is an upper bound on the wait
      for the activator; the last pod goes about 60-90 s after the last request);
    - `policy.max_scale` 0: no limit, Knative's default (invitro's template sets 200).
    """

    warm: bool = False
    cold_start_ms: int | None = None
    policy: Policy = Policy()
    output: Path | None = None


WARM = Scaling(warm=True)


@dataclass(frozen=True)
class Faults:
    """Reproducible failures: every call to `fail_endpoints`, and a seeded `error_rate` of the
    others, end in gRPC status UNKNOWN (how a relay reports a function error); synthetic calls
    asking for more than `mem_alloc_limit_mib` get trace-func-go's allocation-failure reply."""

    error_rate: float = 0.0
    fail_endpoints: frozenset[str] = field(default_factory=frozenset)
    mem_alloc_limit_mib: int | None = None


def read_functions(mapping_path: Path, profile_path: Path) -> dict[str, EmulatedFunction]:
    """The functions of `mapping.csv` keyed by endpoint (or service name while undeployed)."""
    # Imported here: pandas and scipy would add a second to every --processes worker's start.
    from loadcore.csvfile import line_of
    from loadcore.mappingfile import is_failed, read_mapping
    from loadcore.profiles import PERCENTILES, column, read_profiles

    mapping = read_mapping(mapping_path)
    profiles = read_profiles(profile_path)
    service_times: dict[str, ServiceTime] = {}
    functions: dict[str, EmulatedFunction] = {}
    for row, (proxy, service, endpoint, status, protocol, memory_mb) in enumerate(zip(
        mapping["proxy"], mapping["service"], mapping["endpoint"], mapping["status"], mapping["protocol"],
        mapping["trace_memory_mb"],
    )):  # fmt: skip
        line = line_of(row)
        if is_failed(status):
            continue
        key = (endpoint or service).lower()
        if key in functions:  # --share-proxies: a proxy's functions share its endpoint (read_mapping checks it is one proxy)
            continue
        if protocol == Faas.name:
            functions[key] = EmulatedFunction(service, None, Faas.name, memory_mb=float(memory_mb))
            continue
        if proxy not in service_times:
            if proxy not in profiles.index:
                raise InputError(f"{mapping_path}: line {line}, column 'proxy': {proxy!r} is not a proxy of {profile_path}")
            durations = profiles.loc[proxy, [column("duration", p) for p in PERCENTILES]].to_numpy(dtype=float)
            known = [(p, d) for p, d in zip(PERCENTILES, durations) if d == d]
            if not known:
                raise InputError(f"{profile_path}: proxy {proxy!r}: no duration percentiles, expected them to emulate it")
            service_times[proxy] = ServiceTime([p for p, _ in known], [d for _, d in known])
        functions[key] = EmulatedFunction(proxy, service_times[proxy], memory_mb=float(memory_mb))
    if not functions:
        raise InputError(f"{mapping_path}: every function failed to deploy, expected at least one to emulate")
    return functions


class _Function:
    """Per-endpoint state of a running emulator: its reply text and its own seeded RNG, so the
    n-th call to an endpoint draws the same service time whatever the other endpoints do."""

    def __init__(self, endpoint: str, function: EmulatedFunction, seed: int, fails: bool, instance_head: str):
        self.endpoint = endpoint
        self.service_time = function.service_time
        self.protocol = function.protocol
        self.name = function.proxy
        self.reply_head = f"{function.proxy} (pid {os.getpid()}) | "
        self.random = random.Random(f"{seed}:{endpoint}").random
        self.fails = fails
        self.instance_head = instance_head
        self.warm_trailers = ((INSTANCE_TRAILER, f"{instance_head}warm"), (COLD_TRAILER, "false"))


def function_name(endpoint: str) -> str:
    """The function's name in scaling.csv and in instance names: the endpoint's first label."""
    return endpoint.split(".", 1)[0]


class Emulation:
    """The emulated functions of one server process, shared by every protocol's handler:
    finding the function a call is for, its faults, and serving it on an instance.

    `process` (0 for the first server process) goes into instance names when several processes
    serve: each scales its own instances (`invoker emulate --processes`). `busy`: synthetic
    functions spin for their runtime instead of waiting."""

    def __init__(self, functions: dict[str, EmulatedFunction] | None, seed: int = 42, faults: Faults = Faults(),
                 scaling: Scaling = Scaling(), process: int = 0, busy: bool = False):  # fmt: skip
        self.sink = functions is None
        self.error_rate = faults.error_rate
        self.mem_alloc_limit_mib = faults.mem_alloc_limit_mib
        self.busy = busy
        suffix = f"p{process}-" if process else ""
        self.functions = {
            endpoint: _Function(endpoint, function, seed, endpoint in faults.fail_endpoints,
                                f"{function_name(endpoint)}-{suffix}")
            for endpoint, function in (functions or {}).items()
        }  # fmt: skip
        self.scaler = None
        if not (self.sink or scaling.warm):
            self._zero_ns = time.monotonic_ns()
            delays = {
                endpoint: (function_name(endpoint), US_PER_MS * (
                    scaling.cold_start_ms if scaling.cold_start_ms is not None else cold_start_ms(function.memory_mb)))
                for endpoint, function in functions.items()
            }  # fmt: skip
            epoch_us = (time.time_ns() - (time.monotonic_ns() - self._zero_ns)) // 1000
            self.scaler = Scaler(delays, scaling.policy, epoch_us, timeline=scaling.output is not None)
            self._lock = threading.Lock()

    def function_for(self, context: grpc.ServicerContext, protocol: str) -> _Function:
        """The function the call is for; aborts the call when there is none, when it speaks
        another protocol, or when it is to fail."""
        endpoint = _target(context)
        function = self.functions.get(endpoint)
        if function is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no emulated function for endpoint {endpoint!r} (named by the {ENDPOINT_HEADER} header, "
                "else by :authority)",
            )
        if function.protocol != protocol:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"endpoint {endpoint!r} serves {PROTOCOLS[function.protocol].method}, not {PROTOCOLS[protocol].method}",
            )
        if function.fails or (self.error_rate and function.random() < self.error_rate):
            context.abort(grpc.StatusCode.UNKNOWN, FAILURE_DETAIL)
        return function

    def _now_us(self) -> int:
        return (time.monotonic_ns() - self._zero_ns) // 1000

    def serve(self, context: grpc.ServicerContext, function: _Function, service_us: int, spin: bool = False) -> int:
        """Run one call of `function` that takes `service_us` on its instance: place it, hold it
        while it waits for the instance and while it runs (or until it is cancelled or its
        deadline passes), and name the instance and the cold start in the trailing metadata.
        With `spin`, it runs by spinning on a CPU (`_spin`) rather than waiting. Returns how
        long it waited for its instance (µs; 0 when warm)."""
        if self.scaler is None:
            context.set_trailing_metadata(function.warm_trailers)
            waited_us = 0
        else:
            with self._lock:
                arrival_us = self._now_us()
                placed = self.scaler.place(function.endpoint, arrival_us, service_us)
            context.set_trailing_metadata((
                (INSTANCE_TRAILER, f"{function.instance_head}{placed.instance}"),
                (COLD_TRAILER, "true" if placed.cold else "false"),
            ))  # fmt: skip
            waited_us = placed.start_us - arrival_us
        if spin:
            _hold(context, waited_us)
            _spin(context, service_us)
        else:
            _hold(context, waited_us + service_us)
        return waited_us

    def scaling_rows(self) -> list:
        """The scaling.csv rows of every change so far not returned before ([] when warm)."""
        if self.scaler is None:
            return []
        with self._lock:
            return self.scaler.rows(self._now_us())


def _hold(context: grpc.ServicerContext, wait_us: int) -> None:
    """Hold the call for `wait_us`, or until it is cancelled or its deadline passes."""
    finished = threading.Event()
    if wait_us > 0 and context.add_callback(finished.set):  # False: the call already ended
        finished.wait(wait_us / 1e6)


def _spin(context: grpc.ServicerContext, service_us: int) -> None:
    """Busy-loop until this thread has used `service_us` of CPU time, or the call ended."""
    end_ns = time.thread_time_ns() + service_us * 1000
    while time.thread_time_ns() < end_ns and context.is_active():
        pass


def _say_hello(emulation: Emulation) -> grpc.RpcMethodHandler:
    """SayHello: wait a service time drawn from the proxy's profile, reply `<proxy> (pid N) | <µs>`."""
    sink_reply = helloworld_pb2.HelloReply(message=f"sink (pid {os.getpid()}) | 0")

    def say_hello(request: helloworld_pb2.HelloRequest, context: grpc.ServicerContext) -> helloworld_pb2.HelloReply:
        if emulation.sink:
            return sink_reply
        function = emulation.function_for(context, SayHello.name)
        service_us = function.service_time.draw_us(function.random())
        emulation.serve(context, function, service_us)
        return helloworld_pb2.HelloReply(message=f"{function.reply_head}{service_us}")

    return grpc.unary_unary_rpc_method_handler(
        say_hello,
        request_deserializer=helloworld_pb2.HelloRequest.FromString,
        response_serializer=helloworld_pb2.HelloReply.SerializeToString,
    )


def _execute(emulation: Emulation) -> grpc.RpcMethodHandler:
    """Execute: run for the requested runtime on an instance, reply like trace-func-go (see the module doc)."""
    pid = os.getpid()

    def execute(request: faas_pb2.FaasRequest, context: grpc.ServicerContext) -> faas_pb2.FaasReply:
        started_ns = time.perf_counter_ns()
        memory_kb = min(request.memoryInMebiBytes * 1024, UINT32_MAX)
        if emulation.sink:
            return faas_pb2.FaasReply(message=f"OK - sink (pid {pid})", memoryUsageInKb=memory_kb)
        function = emulation.function_for(context, Faas.name)
        if request.runtimeInMilliSec < 1:
            context.abort(grpc.StatusCode.UNKNOWN, ZERO_RUNTIME_DETAIL)
        limit = emulation.mem_alloc_limit_mib
        if limit is not None and request.memoryInMebiBytes > limit:
            waited_us = emulation.serve(context, function, 0)
            message = f"{MEM_ALLOC_FAILURE} timeout - {function.name} (pid {pid})"
        else:
            waited_us = emulation.serve(context, function, request.runtimeInMilliSec * 1000, spin=emulation.busy)
            message = f"OK - {function.name} (pid {pid})"
        duration_us = max(0, min((time.perf_counter_ns() - started_ns) // 1000 - waited_us, UINT32_MAX))
        return faas_pb2.FaasReply(message=message, durationInMicroSec=duration_us, memoryUsageInKb=memory_kb)

    return grpc.unary_unary_rpc_method_handler(
        execute,
        request_deserializer=faas_pb2.FaasRequest.FromString,
        response_serializer=faas_pb2.FaasReply.SerializeToString,
    )


HANDLERS = {SayHello.name: _say_hello, Faas.name: _execute}
"""The emulator's handler of each protocol in `invoker.protocols.PROTOCOLS`, by name."""


def _target(context: grpc.ServicerContext) -> str:
    """The endpoint a call is for: the header if sent, else `:authority`; lower case, no port."""
    for key, value in context.invocation_metadata():
        if key == ENDPOINT_HEADER:
            return _host(value)
    return _host(grpc_internals.authority(context))


def _host(address: str) -> str:
    """`address` without a trailing `:port` and IPv6 brackets, in lower case."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or host.endswith(":"):
        host = address
    return host.strip("[]").lower()


class Emulator:
    """A running in-process emulator server (`start`); stop it, or use it as a context manager.

    With `Scaling.output`, a thread writes the instance counts there every `SCALING_FLUSH_S`;
    `stop` writes the last ones and closes the file."""

    def __init__(self, server: grpc.Server, host: str, port: int, emulation: Emulation, scaling_output: Path | None):
        self.server, self.host, self.port = server, host, port
        self.emulation = emulation
        self._writer = ScalingWriter(scaling_output) if scaling_output is not None else None
        self._stopping = threading.Event()
        self._flusher = None
        if self._writer is not None:
            self._flusher = threading.Thread(target=self._flush_until_stopped, name="scaling.csv", daemon=True)
            self._flusher.start()

    def _flush_until_stopped(self) -> None:
        while not self._stopping.wait(SCALING_FLUSH_S):
            self._writer.write(self.emulation.scaling_rows())

    def stop(self, grace: float | None = STOP_GRACE_S) -> None:
        """Refuse new calls, let calls in flight finish for `grace` seconds, then cancel them."""
        self.server.stop(grace).wait()
        if self._writer is not None and not self._stopping.is_set():
            self._stopping.set()
            self._flusher.join()
            self._writer.write(self.emulation.scaling_rows())
            self._writer.close()

    @property
    def scaling_error(self) -> str | None:
        """Why scaling.csv could not be written in full (a full disk), if so."""
        return self._writer.error if self._writer is not None else None

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop(0)


def start(
    functions: dict[str, EmulatedFunction] | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 42,
    faults: Faults = Faults(),
    scaling: Scaling = Scaling(),
    concurrency: int = DEFAULT_CONCURRENCY,
    reuse_port: bool = False,
    process: int = 0,
    busy: bool = False,
) -> Emulator:
    """Serve `functions` (None: a sink) on host:port (0: a free port, see `.port`) in this process.

    `reuse_port` lets other processes listen on the same port (SO_REUSEPORT); without it a port
    already in use is an error rather than shared. `process` numbers the server processes of
    one emulator (`serve`), for instance names. `busy` makes synthetic functions spin for
    their runtime instead of waiting.
    """
    grpc_internals.check()
    emulation = Emulation(functions, seed, faults, scaling, process, busy)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="emulate"),
        options=[("grpc.so_reuseport", int(reuse_port)), *UNBOUNDED_BACKLOG],
    )
    for name, handler in HANDLERS.items():
        _, service, method = PROTOCOLS[name].method.split("/")
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {method: handler(emulation)}),))
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise InputError(f"--host {host} --port {port}: cannot listen there (address in use or not local)")
    try:
        emulator = Emulator(server, host, bound, emulation, scaling.output if emulation.scaler is not None else None)
    except InputError:
        server.stop(0)
        raise
    server.start()
    return emulator


def serve(
    functions: dict[str, EmulatedFunction] | None,
    *,
    processes: int = 1,
    port_file: Path | None = None,
    announce=print,
    **options,
) -> None:
    """Serve until SIGINT or SIGTERM, from `processes` processes sharing one port (SO_REUSEPORT).

    `options` are those of `start`. Once every process listens, `port_file` (if given) receives
    the port number, then `announce` gets one line ending in `HOST:PORT`.
    """
    emulator = start(functions, reuse_port=processes > 1, **options)
    workers = _start_workers(functions, processes - 1, emulator, options)
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    synthetic = sum(f.protocol == Faas.name for f in (functions or {}).values())
    what = "a sink for every endpoint" if functions is None else (
        f"{len(functions)} functions{f' ({synthetic} synthetic)' if synthetic else ''}, "
        f"{describe(options.get('scaling', Scaling()))},")  # fmt: skip
    spread = f" from {processes} processes" if processes > 1 else ""
    try:
        if port_file is not None:
            _write_atomically(Path(port_file), f"{emulator.port}\n")
        announce(f"serving {what}{spread} on {emulator.host}:{emulator.port}")
        while not stopping.wait(0.5):
            dead = [worker for worker in workers if not worker.is_alive()]
            if dead and not stopping.is_set():
                raise RuntimeError(f"emulator worker process {dead[0].pid} died (exit code {dead[0].exitcode})")
    finally:
        for worker in workers:
            worker.terminate()
        emulator.stop()
        for worker in workers:
            worker.join(STOP_GRACE_S + 2)
            if worker.is_alive():
                worker.kill()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if emulator.scaling_error:
        raise RuntimeError(emulator.scaling_error)


def describe(scaling: Scaling) -> str:
    """How the functions scale, in a few words (the announce line)."""
    if scaling.warm:
        return "always warm"
    policy = scaling.policy
    cold = f"{scaling.cold_start_ms:,} ms cold starts" if scaling.cold_start_ms is not None else "cold starts by memory"
    concurrency = policy.container_concurrency or "unlimited"
    limit = f", at most {policy.max_scale} instances" if policy.max_scale else ""
    return f"scaling with {cold}, concurrency {concurrency}, keep-alive {policy.keep_alive_us / 1e6:g} s{limit}"


def _start_workers(functions, count: int, emulator: Emulator, options: dict) -> list:
    """Spawn `count` more server processes on the emulator's port; wait until each listens."""
    import multiprocessing

    if count <= 0:
        return []
    context = multiprocessing.get_context("spawn")
    started = context.Queue()
    options = {**options, "host": emulator.host, "port": emulator.port}
    workers = [
        context.Process(target=_worker, args=(functions, {**options, "process": number}, os.getpid(), started), daemon=True)
        for number in range(1, count + 1)
    ]
    for worker in workers:
        worker.start()
    try:
        deadline, pending = time.monotonic() + 60, count
        while pending:
            try:
                failure = started.get(timeout=0.2)
            except queue.Empty:
                dead = [worker for worker in workers if worker.exitcode is not None]
                if dead:
                    raise RuntimeError(f"emulator worker process {dead[0].pid} died at start (exit code {dead[0].exitcode})")
                if time.monotonic() > deadline:
                    raise RuntimeError("emulator worker processes did not listen within 60 s") from None
                continue
            if failure:
                raise InputError(failure)
            pending -= 1
    except BaseException:
        for worker in workers:
            worker.kill()
        emulator.stop(0)
        raise
    return workers


def _worker(functions, options: dict, parent_pid: int, started) -> None:
    """A --processes worker: serve until SIGTERM or SIGINT, or until the parent is gone."""
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        emulator = start(functions, reuse_port=True, **options)
    except InputError as error:
        started.put(error.message)
        return
    started.put(None)
    while not stopping.wait(1.0) and os.getppid() == parent_pid:
        pass
    emulator.stop()


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    except OSError as error:
        if partial.is_file():
            partial.unlink()
        raise output_error(path, error) from None
