"""Progress bars on a terminal, silence in pipes and CI."""

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


def interactive() -> bool:
    """True when a person is watching: stderr is a terminal and we are not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class _SilentProgress:
    """Stands in for `rich.progress.Progress` when nobody is watching."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass

    def advance(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> "_SilentProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass


PIPE_WIDTH = 120
"""Columns of human summaries written to a pipe or file: wide enough that tables keep a
function's name on one line (rich would fold everything to 80)."""


def summary_console(stderr: bool = False) -> Console:
    """The console for human summaries: the terminal's width on a terminal, else `PIPE_WIDTH`."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH)


def progress(*extra_columns, enabled: bool = True) -> "Progress | _SilentProgress":
    """A rich progress bar on stderr when interactive, else an object that ignores every call.

    Use as `with progress() as bar: task = bar.add_task("units", total=n); bar.advance(task)`.
    Extra columns (e.g. `TextColumn("{task.fields[errors]} errors")`) follow the standard ones.
    `enabled=False` (a `--quiet` flag) gives the silent object on a terminal too.
    """
    if not enabled or not interactive():
        return _SilentProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *extra_columns,
        console=Console(stderr=True),
        transient=False,
    )



