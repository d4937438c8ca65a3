"""`loadgen report RESULT_CSV...`: a thin layer over `loadgen.report`."""

from enum import Enum
from pathlib import Path

import typer

from invoker.stats import render_summary
from loadgen import report as library
from loadgen.figures import FORMATS
from loadcore.mappingfile import read_mapping
from loadcore.console import progress, summary_console
from loadcore.units import Granularity

FileFormat = Enum("FileFormat", {name: name for name in FORMATS}, type=str)


def report(
    results: list[Path] = typer.Argument(..., help="Results CSVs of `invoker replay` (several workers/processes are merged)."),
    load: Path = typer.Option(None, help="The load.json that was replayed: adds scheduled calls per unit and the achieved vs scheduled rate."),
    mapping: Path = typer.Option(None, help="mapping.csv: names the proxy of each endpoint and adds slowdown = latency ÷ profiled duration."),
    warmup: int = typer.Option(None, min=0, help="Warm-up units of the run [default: as the results' phase column shows]."),
    duration: int = typer.Option(None, min=0, help="Measured units of the run [default: up to the last unit with results]."),
    granularity: Granularity = typer.Option(None, help="Unit length [default: as the results' scheduled times show]."),
    output_dir: Path = typer.Option(Path("report"), help="Where summary.json and the figures go."),
    file_format: FileFormat = typer.Option("png", "--format", help="Figure file format."),
    top: int = typer.Option(library.WORST_FUNCTIONS, min=0, help="Functions shown in the table (worst p99 first)."),
) -> None:
    """Merge invoker results, print the measured phase's summary, write summary.json and figures."""
    console = summary_console()
    errors = summary_console(stderr=True)
    total = sum(path.stat().st_size for path in results if path.is_file())
    with progress() as bar:
        task = bar.add_task("reading results", total=total)
        merged = library.merge_results(results, on_progress=lambda done: bar.update(task, completed=done))
    scheduled = library.Scheduled.from_load(load) if load else None
    profiles = (
        library.function_profiles(read_mapping(mapping), merged.per_function.calls) if mapping else None
    )
    summary = library.build_summary(
        merged,
        inputs={"results": [str(p) for p in results], "load": _text(load), "mapping": _text(mapping)},
        scheduled=scheduled,
        warmup_units=warmup,
        measured_units=duration,
        granularity=granularity.value if granularity else None,
        function_profiles=profiles,
    )
    for warning in summary["warnings"]:
        errors.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    render_summary(summary["measured"], console)
    library.render_functions(summary, console, limit=top)
    written = [library.write_summary(summary, output_dir / "summary.json")]
    written += library.write_figures(merged, summary, output_dir, file_format.value)
    console.print(f"wrote {', '.join(str(path) for path in written)}", highlight=False, soft_wrap=True)


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
