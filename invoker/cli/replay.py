"""`invoker replay LOAD_JSON`: a thin layer over `invoker.replay`."""

from pathlib import Path

import typer

from invoker.dispatch import Target
from invoker.replay import ReplayOptions
from invoker.replay import replay as run_replay
from invoker.schedule import parse_shard
from loadcore.errors import InputError
from loadcore.console import summary_console
from loadcore.units import Granularity


def replay(
    load_json: Path = typer.Argument(..., help="load.json in vSwarm format (from `loadgen generate` or the old tool)."),
    port: int = typer.Option(80, help="Port appended to endpoints that have none."),
    ingress: str = typer.Option(None, help="HOST:PORT to connect every call to, sending the endpoint as :authority."),
    granularity: Granularity = typer.Option(Granularity.minute, help="Length of one load.json unit."),
    warmup: int = typer.Option(2, min=0, help="Warm-up units (replayed first, tagged warmup)."),
    duration: int = typer.Option(20, min=0, help="Measured units after the warm-up."),
    timeout: float = typer.Option(30.0, help="Per-call deadline in seconds."),
    output: Path = typer.Option(Path("latency.csv"), help="Results CSV, one row per issued call."),
    vswarm_lat: Path = typer.Option(None, help="Also write the old one-latency-per-line µs file (measured, OK calls)."),
    shard: str = typer.Option(None, help="I/N: replay only every N-th function, starting with the I-th (1-based)."),
    processes: int = typer.Option(1, min=1, help="Local processes to split the calls over (one core each)."),
    connection_per_call: bool = typer.Option(
        False, "--connection-per-call", help="Open a new connection for every call (like the old invoker)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar and no summary."),
) -> None:
    """Replay load.json open-loop over gRPC, writing one CSV row per issued call."""
    if timeout <= 0:
        raise InputError(f"--timeout {timeout}: expected a positive number of seconds")
    if ingress is not None and ":" not in ingress:
        raise InputError(f"--ingress {ingress!r}: expected HOST:PORT")
    options = ReplayOptions(
        load=load_json,
        output=output,
        granularity=granularity.value,
        warmup=warmup,
        duration=duration,
        target=Target(port=port, ingress=ingress, timeout=timeout, connection_per_call=connection_per_call),
        shard=parse_shard(shard) if shard is not None else None,
        processes=processes,
        vswarm_lat=vswarm_lat,
        quiet=quiet,
    )
    outcome = run_replay(options, summary_console(stderr=True))
    if outcome.signal is not None:
        raise typer.Exit(128 + outcome.signal)
    if outcome.write_error is not None:
        raise typer.Exit(1)
