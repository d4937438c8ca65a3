"""The console side both commands share: progress bars on a terminal (silence in pipes and CI),
the console for human summaries, and the tables of a run's measured phase.

Text from files and servers (endpoints, statuses, errors, paths) is printed as data: never
as Rich markup (`[/]` would raise or vanish), and with control characters shown escaped
(`printable`), so an endpoint holding an ANSI escape cannot recolour, retitle or rewrite the
terminal, nor a bidirectional override reorder what it shows.
"""

import os
import re
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from loadcore.histogram import LABELS
from loadcore.stats import DISTRIBUTIONS
from loadcore.summary import PhaseSummary


def interactive() -> bool:
    """True when a person is watching: stderr is a terminal and we are not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class SilentProgress:
    """Stands in for `rich.progress.Progress` when nobody is watching."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass

    def advance(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> "SilentProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters (C0, C1, bidirectional overrides) written as escapes."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(text))


def print_data(console: Console, text: str, style: str | None = None) -> None:
    """Print one message that holds data as it is: no markup, no highlighting, controls escaped."""
    console.print(Text(printable(text), style=style or ""), soft_wrap=True, highlight=False)


PIPE_WIDTH = 120
"""Columns of human summaries written to a pipe or file: wide enough that tables keep a
function's name on one line (rich would fold everything to 80)."""


def summary_console(stderr: bool = False) -> Console:
    """The console for human summaries: the terminal's width on a terminal, else `PIPE_WIDTH`."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH)


def progress(*extra_columns, enabled: bool = True) -> "Progress | SilentProgress":
    """A rich progress bar on stderr when interactive, else an object that ignores every call.

    Use as `with progress() as bar: task = bar.add_task("units", total=n); bar.advance(task)`.
    Extra columns (e.g. `TextColumn("{task.fields[errors]} errors")`) follow the standard ones.
    `enabled=False` (a `--quiet` flag) gives the silent object on a terminal too.
    """
    if not enabled or not interactive():
        return SilentProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *extra_columns,
        console=Console(stderr=True),
        transient=False,
    )


def _ms(value_us) -> str:
    return "–" if value_us is None else f"{value_us / 1000:,.3f}"


def render_phase(summary: PhaseSummary, console: Console) -> None:
    """Print a measured phase as two tables: counts and rates, then latency percentiles."""
    counts = Table(title="Measured phase", show_header=False)
    counts.add_column("metric")
    counts.add_column("value", justify="right")
    counts.add_row("calls issued", f"{summary.calls:,}")
    counts.add_row("OK", f"{summary.ok:,}")
    for status, count in summary.failures.items():
        counts.add_row(Text(f"failed: {printable(status)}"), f"{count:,}", style="red")
    known = summary.cold_calls + summary.warm_calls
    if known:
        unknown = f", {summary.calls - known:,} unknown" if known < summary.calls else ""
        counts.add_row("cold calls (paid a cold start)", f"{summary.cold_calls:,} ({summary.cold_calls / known:.1%}{unknown})")
    counts.add_row("warm-up calls (not counted)", f"{summary.warmup_calls:,}")
    if summary.scheduled_calls is not None:
        counts.add_row("calls scheduled", f"{summary.scheduled_calls:,}")
    if summary.issued_fraction is not None:
        counts.add_row("issued / scheduled", f"{summary.issued_fraction:.2%}")
    if summary.scheduled_rps is not None:
        counts.add_row("scheduled rate (calls/s)", f"{summary.scheduled_rps:,.1f}")
    if summary.achieved_rps is not None:
        counts.add_row("achieved rate (calls/s)", f"{summary.achieved_rps:,.1f}")
    console.print(counts)

    latencies = Table(title="Latency (ms)")
    latencies.add_column("percentile")
    for title in DISTRIBUTIONS.values():
        latencies.add_column(title, justify="right")
    for label in LABELS:
        latencies.add_row(label, *(_ms(getattr(summary, name)[label]) for name in DISTRIBUTIONS))
    console.print(latencies)
