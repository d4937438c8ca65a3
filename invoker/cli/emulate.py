"""invoker emulate: serve emulated proxies and synthetic functions on one local port (see `invoker.emulate`)."""

from pathlib import Path

import typer

from invoker import emulate as emulator
from invoker.scaling import US_PER_S, Policy
from loadcore import shipped
from loadcore.errors import InputError
from loadcore.files import check_distinct

_DEFAULT = Policy()


def emulate(
    mapping: Path = typer.Argument(
        None,
        help="mapping.csv: serve its functions under their endpoints (or service names while undeployed).",
        metavar="MAPPING",
        show_default=False,
    ),
    profile: Path = typer.Option(None, help="profile.json with the proxies' duration percentiles [default: shipped]"),
    sink: bool = typer.Option(False, "--sink", help="Answer every endpoint at once (benchmarks); no MAPPING."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(0, min=0, max=65535, help="Port to listen on; 0 picks a free one (printed)."),
    port_file: Path = typer.Option(None, help="Write the port here once serving (for scripts)."),
    processes: int = typer.Option(1, min=1, help="Serve from this many processes on one port (SO_REUSEPORT)."),
    concurrency: int = typer.Option(
        emulator.DEFAULT_CONCURRENCY, min=1, help="Calls served at once per process; more wait in a queue."
    ),
    seed: int = typer.Option(42, help="Seed of the service-time and error draws (one stream per endpoint)."),
    error_rate: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Fraction of calls that fail with status UNKNOWN, as a function error."
    ),
    fail_endpoint: list[str] = typer.Option(
        [], "--fail-endpoint", metavar="<host>", help="Every call to this endpoint fails with status UNKNOWN (repeatable)."
    ),
    busy: bool = typer.Option(
        False, "--busy", help="Synthetic functions spin on a CPU for their runtime (as trace-func-go) instead of waiting."
    ),
    mem_alloc_limit: int = typer.Option(
        None, min=0, metavar="MIB", help="Synthetic calls asking for more memory reply 'FAILURE - mem_alloc' (as trace-func-go)."
    ),
    warm: bool = typer.Option(False, "--warm", help="Always warm: one instance per function, no cold starts, no limit."),
    cold_start_ms: int = typer.Option(
        None, min=0, help="Cold-start delay of a new instance [default: by the function's trace memory, as invitro: "
                          "<= 10 MB 300, <= 60 MB 750, else 1,250 ms]."),
    container_concurrency: int = typer.Option(
        _DEFAULT.container_concurrency, min=0, help="Calls one instance serves at once (0: no limit)."),
    keep_alive: float = typer.Option(
        _DEFAULT.keep_alive_us / US_PER_S, min=0.0, help="Seconds an idle instance lives (Knative: 60-90 s)."),
    max_scale: int = typer.Option(_DEFAULT.max_scale, min=0, help="Most instances per function (0: no limit)."),
    scaling_out: Path = typer.Option(None, help="Write the instance counts over time here (scaling.csv)."),
) -> None:
    """Serve emulated functions over gRPC on one port (plaintext HTTP/2): vSwarm proxies
    (helloworld.Greeter/SayHello) and synthetic functions (invitro's faas.Executor/Execute).

    Functions are told apart by the x-loadgen-endpoint header or the call's :authority. A proxy
    waits a service time drawn from its proxy's duration percentiles and replies
    "<proxy> (pid N) | <µs>"; a synthetic function runs for the runtime its call asks for and
    replies like trace-func-go. Both scale like Knative (instances on demand, cold starts,
    keep-alive); each reply's trailing metadata names its instance and whether the call was cold.
    Unknown endpoints get NOT_FOUND. Stops cleanly on Ctrl-C or SIGTERM.
    """
    if sink == (mapping is not None):
        raise InputError("give MAPPING (a mapping.csv to emulate) or --sink (answer every endpoint), exactly one of them")
    if sink and (error_rate or fail_endpoint or busy or mem_alloc_limit is not None):
        raise InputError("--error-rate, --fail-endpoint, --busy and --mem-alloc-limit need a MAPPING; --sink answers every call at once")
    check_distinct({"MAPPING": mapping, "--profile": profile, "--port-file": port_file, "--scaling-out": scaling_out})
    functions = None if sink else emulator.read_functions(mapping, profile or shipped.default_profile())
    failing = frozenset(endpoint.lower() for endpoint in fail_endpoint)
    unknown = sorted(failing - set(functions or ()))
    if unknown:
        raise InputError(f"--fail-endpoint {unknown[0]!r}: not an endpoint of {mapping}")
    faults = emulator.Faults(error_rate, failing, mem_alloc_limit)
    scaling = _scaling(warm, cold_start_ms, container_concurrency, keep_alive, max_scale, scaling_out, sink, processes)
    try:
        emulator.serve(
            functions,
            processes=processes,
            port_file=port_file,
            announce=lambda line: print(line, flush=True),
            host=host,
            port=port,
            seed=seed,
            faults=faults,
            scaling=scaling,
            concurrency=concurrency,
            busy=busy,
        )
    except RuntimeError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None


def _scaling(warm, cold_start_ms, container_concurrency, keep_alive, max_scale, scaling_out, sink, processes):
    """The `Scaling` the options ask for, refusing options that would have no effect."""
    policy = Policy(container_concurrency, round(keep_alive * US_PER_S), max_scale)
    given = [name for name, value in (("--cold-start-ms", cold_start_ms is not None), ("--scaling-out", scaling_out),
                                       ("--container-concurrency", policy.container_concurrency != _DEFAULT.container_concurrency),
                                       ("--keep-alive", policy.keep_alive_us != _DEFAULT.keep_alive_us),
                                       ("--max-scale", policy.max_scale != _DEFAULT.max_scale)) if value]  # fmt: skip
    if given and (warm or sink):
        raise InputError(f"{', '.join(given)}: only when functions scale (not with {'--warm' if warm else '--sink'})")
    if scaling_out is not None and processes > 1:
        raise InputError("--scaling-out: only with --processes 1 (each process scales its own instances)")
    return emulator.Scaling(warm=warm, cold_start_ms=cold_start_ms, policy=policy, output=scaling_out)
