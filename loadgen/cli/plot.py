"""`loadgen plot`: a thin layer over `loadgen.plot`."""

from enum import Enum
from pathlib import Path

import typer

from loadgen import plot as library
from loadcore import shipped
from loadgen.cli import options
from loadgen.figures import FORMATS
from loadcore.mappingfile import read_mapping
from loadgen.mapping import PERCENTILES, build_mapping
from loadcore.profiles import read_profiles
from loadgen.trace import read_trace

FileFormat = Enum("FileFormat", {name: name for name in FORMATS}, type=str)
Percentile = Enum("Percentile", {f"p{p}": str(p) for p in PERCENTILES}, type=str)


def plot(
    trace: options.TraceDir = shipped.trace_dir(),
    profile: options.ProfileFile = shipped.default_profile(),
    mapping: Path = typer.Option(None, help="mapping.csv to plot [default: map now, closest proxy at --percentile]."),
    percentile: Percentile = typer.Option("75", help="Memory/duration/CPU percentile to show (use the mapping's)."),
    output_dir: Path = typer.Option(Path("plots"), help="Where the figures go."),
    file_format: FileFormat = typer.Option("png", "--format", help="Figure file format."),
) -> None:
    """Plot the trace and proxy profiles (log-decade histograms, scatter) and the mapping's quality."""
    functions = read_trace(trace)
    profiles = read_profiles(profile)
    chosen = read_mapping(mapping) if mapping else build_mapping(functions, profiles, int(percentile.value))
    written = library.plot_all(functions, profiles, chosen, int(percentile.value), output_dir, file_format.value)
    typer.echo(f"wrote {len(written)} figures to {output_dir}: {', '.join(path.name for path in written)}")
