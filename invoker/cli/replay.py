"""`invoker replay LOAD_JSON`: a thin layer over `invoker.replay`."""

import time
from pathlib import Path

import typer
from rich.progress import TextColumn

from invoker.dispatch import Target
from invoker.replay import MIN_LEAD_S, ReplayOptions, ReplayOutcome, replay as run_replay, stop_message
from invoker.schedule import parse_shard
from loadcore.console import print_data, progress, render_phase, summary_console
from loadcore.errors import InputError
from loadcore.runs import check_host_name, check_run_id, parse_start_at
from loadcore.shards import max_over_mean
from loadcore.units import Granularity, format_unix_us


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
    shard: str = typer.Option(
        None, help="I/N: replay only shard I of N (1-based); functions go to shards balanced by their call counts."
    ),
    split_hot: bool = typer.Option(
        False, "--split-hot", help="With --shard: spread each function with more calls than a shard's even share "
        "over several shards (give it to every shard alike)."
    ),
    start_at: str = typer.Option(
        None, metavar="TIME", help="t0 at this instant, the same on every worker: RFC 3339 with a zone "
        "(2026-12-03T10:00:00Z) or +SECONDS from now. Clocks must be NTP-synchronised."
    ),
    run_id: str = typer.Option(
        None, help="Run id for every row [default: derived from load.json, the options that shape the run and "
        "the start instant, so shards started with one --start-at share it]."
    ),
    host_name: str = typer.Option(
        None, help="Host name recorded in the host column [default: this machine's host name]."
    ),
    processes: int = typer.Option(1, help="Local processes to split the calls over (one core each; at most 4 per CPU)."),
    connection_per_call: bool = typer.Option(
        False, "--connection-per-call", help="Open a new connection for every call (like the old invoker)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar and no summary."),
) -> None:
    """Replay load.json open-loop over gRPC, writing one CSV row per issued call."""
    if split_hot and shard is None:
        raise InputError("--split-hot: only with --shard I/N")
    options = ReplayOptions(
        load=load_json,
        output=output,
        granularity=granularity.value,
        warmup=warmup,
        duration=duration,
        target=Target.checked(port=port, ingress=ingress, timeout=timeout, connection_per_call=connection_per_call),
        shard=parse_shard(shard) if shard is not None else None,
        split_hot=split_hot,
        processes=processes,
        vswarm_lat=vswarm_lat,
        start_at=parse_start_at(start_at, time.time_ns(), MIN_LEAD_S) if start_at is not None else None,
        run_id=check_run_id(run_id) if run_id is not None else None,
        host_name=check_host_name(host_name) if host_name is not None else None,
    )
    console = summary_console(stderr=True)
    if options.start_at is not None and not quiet:
        lead_s = (options.start_at - time.time_ns()) / 1e9
        print_data(console, f"t0 at {format_unix_us(options.start_at // 1000, 3)}, in {lead_s:,.1f} s")
    columns = (
        TextColumn("{task.fields[issued]:,} issued"),
        TextColumn("{task.fields[in_flight]:,} in flight"),
        TextColumn("{task.fields[errors]:,} errors"),
    )
    with progress(*columns, enabled=not quiet) as bar:
        task = bar.add_task("units", total=None, issued=0, in_flight=0, errors=0)
        outcome = run_replay(options, lambda p: bar.update(task, completed=p.unit, total=p.units, issued=p.issued,
                                                           in_flight=p.in_flight, errors=p.errors))
    if not quiet:
        render_phase(outcome.summary, console)
        t0 = f" (t0 {format_unix_us(outcome.t0_unix_us)})" if outcome.t0_unix_us else ""
        print_data(console, f"{outcome.rows_written:,} rows written to {output}{t0}")
        print_data(console, run_line(outcome, options.shard))
    for warning in outcome.warnings:
        print_data(console, f"warning: {warning}", style="yellow")
    for problem in (outcome.write_error, *outcome.worker_failures):
        if problem:
            print_data(console, problem, style="red")
    if outcome.signal is not None:
        print_data(console, stop_message(outcome), style="red")
        raise typer.Exit(128 + outcome.signal)
    if outcome.write_error is not None or outcome.worker_failures:
        raise typer.Exit(1)


def run_line(outcome: ReplayOutcome, shard: tuple[int, int] | None) -> str:
    """`run <id>, shard I/N (its calls of all; max/mean calls per shard), host <name>`: what
    every row records of the run (t0 is on the line before)."""
    provenance, calls = outcome.provenance, outcome.shard_calls
    share = ""
    if shard is not None:
        share = (f" ({calls[shard[0] - 1]:,} of {sum(calls):,} calls; max/mean calls per shard "
                 f"{max_over_mean(calls):.2f})")
    return f"run {provenance.run_id}, shard {provenance.shard}{share}, host {provenance.host}"
