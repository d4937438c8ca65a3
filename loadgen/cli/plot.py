"""`loadgen plot`: a thin layer over `loadgen.plot`."""

from pathlib import Path

import typer

from loadcore import shipped
from loadgen import plot as library
from loadgen.cli import options


def plot(
    trace: options.TraceDir = shipped.trace_dir(),
    profile: options.ProfileFile = shipped.default_profile(),
    mapping: Path = typer.Option(None, help="mapping.csv to plot [default: map now, closest proxy at --percentile]."),
    percentile: options.Percentile = typer.Option("75", help="Memory/duration/CPU percentile to show (use the mapping's)."),
    output_dir: Path = typer.Option(Path("plots"), help="Where the figures go."),
    file_format: options.FigureFormatOption = options.DEFAULT_FIGURE_FORMAT,
    trace_format: options.TraceFormatOfPlot = None,
    day: options.Day = None,
    memory_day: options.MemoryDay = None,
    memory_mb: options.MemoryMb = None,
) -> None:
    """Plot the trace and proxy profiles (log-decade histograms, scatter) and the mapping's quality."""
    choices = options.trace_choices(trace_format, day, memory_day, memory_mb)
    written = library.plot(trace, profile, mapping, int(percentile.value), output_dir, file_format.value, choices)
    typer.echo(f"wrote {len(written)} figures to {output_dir}: {', '.join(path.name for path in written)}")
