"""invoker emulate: serve emulated proxies and synthetic functions on one local port (see `invoker.emulate`)."""

from pathlib import Path

import typer

from invoker import emulate as emulator
from loadcore import shipped
from loadcore.errors import InputError


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
) -> None:
    """Serve emulated functions over gRPC on one port (plaintext HTTP/2): vSwarm proxies
    (helloworld.Greeter/SayHello) and synthetic functions (invitro's faas.Executor/Execute).

    Functions are told apart by the x-loadgen-endpoint header or the call's :authority. A proxy
    waits a service time drawn from its proxy's duration percentiles and replies
    "<proxy> (pid N) | <µs>"; a synthetic function runs for the runtime its call asks for and
    replies like trace-func-go. Unknown endpoints get NOT_FOUND. Stops cleanly on Ctrl-C or SIGTERM.
    """
    if sink == (mapping is not None):
        raise InputError("give MAPPING (a mapping.csv to emulate) or --sink (answer every endpoint), exactly one of them")
    if sink and (error_rate or fail_endpoint or busy or mem_alloc_limit is not None):
        raise InputError("--error-rate, --fail-endpoint, --busy and --mem-alloc-limit need a MAPPING; --sink answers every call at once")
    functions = None if sink else emulator.read_functions(mapping, profile or shipped.default_profile())
    failing = frozenset(endpoint.lower() for endpoint in fail_endpoint)
    unknown = sorted(failing - set(functions or ()))
    if unknown:
        raise InputError(f"--fail-endpoint {unknown[0]!r}: not an endpoint of {mapping}")
    faults = emulator.Faults(error_rate, failing, mem_alloc_limit)
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
            concurrency=concurrency,
            busy=busy,
        )
    except RuntimeError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
