"""`loadgen observe`: write scaling.csv from the Pods of a run started by hand (`loadgen.observe`)."""

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TextColumn

from loadcore.console import progress
from loadgen.cli import options


def observe(
    run_id: Annotated[str, typer.Option(help="Watch the Pods of this loadgen run (label loadgen.dev/run-id).")] = None,
    service: Annotated[list[str], typer.Option("--service", help="Watch the Pods of this Knative Service (repeatable).")] = [],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the Services.")] = "default",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = None,
    output: Annotated[Path, typer.Option(help="The scaling.csv to write (one row per change).")] = Path("scaling.csv"),
    duration: Annotated[float, typer.Option(min=0.0, help="Stop after this many seconds [default: at Ctrl-C].")] = None,
) -> None:
    """Watch the Pods of Knative Services and write how many are ready, pending and terminating.

    One row per change and function, with cumulative Pods created and deleted; `loadgen report
    --scaling` joins it with a run's results. Stops at Ctrl-C or SIGTERM, or after --duration.
    """
    from loadgen import observe as library  # the Kubernetes client: imported only when used
    from loadgen.deploy.cluster import connect

    selection = library.Selection(namespace, run_id, tuple(service))
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with connect(kubeconfig, context, request_timeout) as api, progress(TextColumn("{task.fields[pods]}")) as bar:
            task = bar.add_task("watching pods", total=None, pods="")

            def show(totals: dict, rows: int) -> None:
                pods = ", ".join(f"{count} {state}" for state, count in totals.items())
                bar.update(task, completed=rows, pods=f"rows; pods {pods}")

            outcome = library.observe(api, selection, output, stop, duration, on_progress=show)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for warning in outcome.warnings:
        typer.echo(f"warning: {warning}", err=True)
    rows, functions = outcome.rows_written, outcome.functions
    typer.echo(f"wrote {output}: {rows} row{'s' * (rows != 1)}, {functions} function{'s' * (functions != 1)} "
               f"({selection.describe()})")
    if outcome.failure:
        typer.echo(f"Error: {outcome.failure}", err=True)
        raise typer.Exit(1)
