"""`loadgen report RESULT_CSV...`: a thin layer over `loadgen.report`."""

from pathlib import Path

import typer

from loadcore.console import print_data, progress, render_phase, summary_console
from loadcore.units import parse_unix_us
from loadgen import report as library
from loadgen.cli import options
from loadgen.report_tables import (
    COLD_FUNCTIONS,
    WORST_FUNCTIONS,
    render_cold_starts,
    render_functions,
    render_kinds,
    render_workers,
)


def report(
    results: list[Path] = typer.Argument(..., help="Results CSVs of `invoker replay` (several workers/processes are merged)."),
    load: Path = typer.Option(None, help="The load.json that was replayed: adds scheduled calls per unit and the achieved vs scheduled rate."),
    mapping: Path = typer.Option(None, help="mapping.csv: names the proxy of each endpoint and adds its slowdown = latency ÷ profiled duration."),
    warmup: int = typer.Option(None, min=0, help="Warm-up units of the run [default: as the results' phase column shows]."),
    duration: int = typer.Option(None, min=0, help="Measured units of the run [default: up to the last unit with results]."),
    granularity: options.OptionalGranularity = None,
    output_dir: Path = typer.Option(Path("report"), help="Where summary.json and the figures go."),
    file_format: options.FigureFormatOption = options.DEFAULT_FIGURE_FORMAT,
    top: int = typer.Option(WORST_FUNCTIONS, min=0, help="Functions shown in the table (worst p99 first)."),
    scaling: Path = typer.Option(None, help="scaling.csv of the run (loadgen observe, invoker emulate --scaling-out): "
                                            "instances over time, and cold starts inferred for calls whose replies did not say."),
    t0: str = typer.Option(None, help="The run's t0 as invoker replay printed it (RFC 3339, or Unix µs), for every "
                                      "row: places the calls on scaling.csv's clock [default: each row's t0_unix_us]."),
    allow_mixed_runs: bool = typer.Option(
        False, "--allow-mixed-runs", help="Merge files of different runs (run ids) instead of refusing them."
    ),
    t0_tolerance: float = typer.Option(
        library.T0_TOLERANCE_MS, help="Warn when the t0 of one run's workers differ by more (ms)."
    ),
) -> None:
    """Merge invoker results, print the measured phase's summary, write summary.json and figures."""
    total = sum(path.stat().st_size for path in results if path.is_file())
    with progress() as bar:
        task = bar.add_task("reading results", total=total)
        result = library.report(
            results, load=load, mapping=mapping, warmup=warmup, duration=duration,
            granularity=granularity.value if granularity else None, output_dir=output_dir,
            file_format=file_format.value, scaling=scaling,
            t0_unix_us=parse_unix_us(t0, "--t0") if t0 is not None else None,
            on_progress=lambda done: bar.update(task, completed=done),
            mixed_runs=allow_mixed_runs, t0_tolerance_ms=t0_tolerance,
        )  # fmt: skip
    print_report(result, top)


def print_report(result: library.ReportResult, top: int = WORST_FUNCTIONS) -> None:
    """The report on the terminal: warnings on stderr, the tables and the files written on stdout."""
    console = summary_console()
    errors = summary_console(stderr=True)
    for warning in result.summary.warnings:
        print_data(errors, f"warning: {warning}", style="yellow")
    render_phase(result.summary.measured, console)
    render_kinds(result.summary, console)
    render_functions(result.summary, console, limit=top)
    render_cold_starts(result.summary, console, limit=min(top, COLD_FUNCTIONS))
    render_workers(result.summary, console)
    print_data(console, f"wrote {', '.join(str(path) for path in result.written)}")
