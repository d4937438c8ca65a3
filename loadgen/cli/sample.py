"""`loadgen sample SIZE...`: a thin layer over `loadgen.sample`."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loadcore import shipped
from loadgen.cli import options
from loadgen.load import DEFAULT_SEED
from loadcore.console import progress, summary_console
from loadcore.files import check_output_folder
from loadgen.sample import DEFAULT_SWAPS, DEFAULT_TRIALS, sample_trace, write_samples
from loadgen.sample_figure import plot_sampling


def sample(
    sizes: Annotated[list[int], typer.Argument(metavar="SIZE...", help="Sample sizes (functions); each smaller sample is a subset of the next bigger.", show_default=False)],
    sizes_marker: Annotated[bool, typer.Option("--sizes", help="May stand before the sizes: `--sizes 100 500` is `100 500`.")] = False,
    trace: options.TraceDir = shipped.trace_dir(),
    output: Annotated[Path, typer.Option("--output", help="Folder for <size>/{invocations,durations,memory}.csv, sampling.json and sampling.png.")] = Path("samples"),
    window: Annotated[tuple[int, int], typer.Option("--window", metavar="START MINUTES", help="Count columns to keep and measure on: START (0-based, like generate --start) and how many [default: all].", show_default=False)] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed, same samples, byte for byte.")] = DEFAULT_SEED,
    trials: Annotated[int, typer.Option(min=1, help="Stratified draws per size (and plain random draws measured beside them).")] = DEFAULT_TRIALS,
    swaps: Annotated[int, typer.Option(min=0, help="Swap proposals that refine the best draw of each size.")] = DEFAULT_SWAPS,
    trace_format: options.Format = None,
    day: options.Day = None,
    memory_day: options.MemoryDay = None,
    memory_mb: options.MemoryMb = None,
) -> None:
    """Cut a trace down to representative nested samples; write them as trace folders."""
    check_output_folder(output)  # before the sampling
    with progress() as bar:
        task = bar.add_task("sampling", total=None)
        sampling = sample_trace(
            trace, sizes, seed=seed, trials=trials, swaps=swaps, window=window,
            choices=options.trace_choices(trace_format, day, memory_day, memory_mb),
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    folders = write_samples(sampling, output)
    figure = plot_sampling(sampling, output)
    source, window_used = sampling.trace, sampling.window
    for role, missing in source.skipped.items():
        typer.echo(f"warning: skipped {missing} functions of {source.files['invocations'].name} missing from {source.files[role].name}", err=True)
    console = summary_console()
    for note in source.notes():
        typer.echo(f"trace: {note}")
    typer.echo(
        f"trace: {source.functions.shape[0]:,} functions ({len(sampling.pool):,} with calls in the window) from {source.source}; "
        f"window: {window_used.length} minutes, columns {source.units[window_used.start]}-{source.units[window_used.end - 1]}; "
        f"seed {seed}, {trials} trials, {swaps} swaps"
    )
    console.print(_table(sampling))
    typer.echo(f"wrote {', '.join(str(folder) for folder in folders)}, {output / 'sampling.json'}, {figure}")


def _table(sampling) -> Table:
    table = Table(title="Wasserstein distances to the full trace, mean over the minutes")
    for column in ("size", "sample", "invocations", "resources", "mean", "ours closer by", "calls vs trace"):
        table.add_column(column, justify="left" if column == "sample" else "right")
    for result in sampling.sizes:
        rows = (("ours", result.ours), ("random median", result.random_median), ("random best", result.random_best),
                ("invitro", result.invitro))  # fmt: skip
        for name, d in rows:
            closer = f"{d.score / result.ours.score:.2f}x" if name != "ours" and result.ours.score else ""
            load = f"{result.calls / result.expected_calls:.1%}" if name == "ours" and result.expected_calls else ""
            table.add_row(str(result.size) if name == "ours" else "", name, f"{d.invocations:.3f}", f"{d.resources:.3f}",
                          f"{d.score:.3f}", closer, load, end_section=name == "invitro")  # fmt: skip
    return table
