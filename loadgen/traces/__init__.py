"""Read every trace layout users have into one `Trace`, and validate it.

| `--format` | what `--trace` names | module |
|---|---|---|
| `azure2019` | a folder with `invocations.csv`, `durations.csv`, `memory.csv` (today's layout), or the official 14-day download (`--day N`, `--memory-day M`) | `folder` |
| `invitro2022` | a folder with invitro's `<prefix>_inv.csv`, `<prefix>_run.csv`, `<prefix>_mem.csv`, or one of those files (to pick a prefix among several) | `folder` |
| `azure2021` | the 2021 per-invocation CSV (any name, `.txt` too), or a folder holding just that file | `azure2021` |

The layout is detected from the file names and, for the 2021 trace, the header; `--format`
picks one when a folder holds several.  A folder with files of two layouts, or with neither,
is an error that names what it found.  Every error is one `InputError` line naming the file,
the line or field and what was expected.
"""

from dataclasses import dataclass
from pathlib import Path

from loadcore.errors import InputError
from loadgen.traces import azure2021
from loadgen.traces.folder import INVITRO, FileSet, find_sets, read_folder, resolve
from loadgen.traces.model import FORMATS, KEY, MAX_CALLS_PER_SECOND, Calls, Trace, Window
from loadcore.units import UNIT_US

__all__ = ["FORMATS", "KEY", "MAX_CALLS_PER_SECOND", "Calls", "Trace", "TraceChoices", "Window", "read_trace"]

_EXPECTED = (
    "expected invocations.csv, durations.csv and memory.csv, the official Azure 2019 day files, invitro's "
    "<prefix>_inv/_run/_mem.csv, or a 2021 per-invocation CSV with columns app, func, end_timestamp, duration"
)


def read_trace(
    path: Path,
    granularity: str = "minute",
    strict: bool = False,
    *,
    trace_format: str | None = None,
    day: int | None = None,
    memory_day: int | None = None,
    memory_mb: float | None = None,
    window: Window | None = None,
) -> Trace:
    """Detect the layout of `path`, then read and validate it.

    `window` limits the counts read to its units (checked against the trace's length);
    `day`/`memory_day` pick files of the official download; `memory_mb` is the memory of
    every function of a trace without memory (the 2021 trace; default 200 MB)."""
    if granularity not in UNIT_US:
        raise InputError(f"granularity {granularity!r}: expected one of {', '.join(UNIT_US)}")
    if trace_format is not None and trace_format not in FORMATS:
        raise InputError(f"--format {trace_format!r}: expected one of {', '.join(FORMATS)}")
    found = _locate(Path(path), trace_format)
    if found.format == "azure2021":
        if day is not None or memory_day is not None:
            raise InputError(f"{found.files[0]}: --day and --memory-day pick files of the Azure 2019 download, not of the 2021 trace")
        return azure2021.read_calls(found.files[0], granularity, window, memory_mb)
    if memory_mb is not None:
        raise InputError(f"{found.files[0].parent}: --memory-mb is for traces without memory (azure2021); this one has {found.label}")
    directory = found.files[0].parent
    files, day, memory_day = resolve(directory, found, day, memory_day)
    trace = read_folder(files, found.format, granularity, strict, window)
    trace.day, trace.memory_day = day, memory_day
    return trace


@dataclass(frozen=True)
class TraceChoices:
    """What a command says about reading its trace besides the path (`--format`, `--day`,
    `--memory-day`, `--memory-mb`); `None` = detect, or the layout's default."""

    trace_format: str | None = None
    day: int | None = None
    memory_day: int | None = None
    memory_mb: float | None = None

    def read(self, path: Path, granularity: str = "minute", strict: bool = False, window: Window | None = None) -> Trace:
        return read_trace(
            path, granularity, strict, trace_format=self.trace_format, day=self.day, memory_day=self.memory_day,
            memory_mb=self.memory_mb, window=window,
        )  # fmt: skip


def _locate(path: Path, trace_format: str | None) -> FileSet:
    """The one layout `path` holds (restricted to `trace_format` when given)."""
    if path.is_file():
        return _locate_file(path, trace_format)
    if not path.is_dir():
        raise InputError(f"{path}: trace folder not found")
    paths = sorted(p for p in path.iterdir() if p.is_file())
    candidates = find_sets(path, paths)
    claimed = {p for found in candidates for p in found.files}
    candidates += [
        FileSet("azure2021", f"the 2021 per-invocation trace {p.name}", [p])
        for p in paths
        if p not in claimed and p.suffix.lower() in (".csv", ".txt") and azure2021.is_call_file(p)
    ]
    if trace_format is not None:
        candidates = [found for found in candidates if found.format == trace_format]
    if not candidates:
        within = f" of format {trace_format}" if trace_format else ""
        raise InputError(f"{path}: no trace{within} found: {_EXPECTED}")
    if len(candidates) > 1:
        if all(found.prefix is not None for found in candidates):
            prefixes = ", ".join(found.prefix for found in candidates)
            raise InputError(
                f"{path}: invitro samples {prefixes}: pick one by naming one of its files, "
                f"e.g. --trace {path / (candidates[0].prefix + '_inv.csv')}"
            )
        formats = {found.format for found in candidates}
        hint = "pass --format to pick one" if len(formats) > 1 else "keep one trace per folder"
        raise InputError(f"{path}: mixed trace layouts: {'; '.join(found.label for found in candidates)}; {hint}")
    return candidates[0]


def _locate_file(path: Path, trace_format: str | None) -> FileSet:
    match = INVITRO.match(path.name)
    if match and trace_format in (None, "invitro2022"):
        prefix = match.group(1)
        return FileSet("invitro2022", f"invitro's {prefix}_inv/_run/_mem.csv", [path], prefix=prefix)
    if trace_format == "azure2021" or (trace_format is None and azure2021.is_call_file(path)):
        return FileSet("azure2021", f"the 2021 per-invocation trace {path.name}", [path])
    raise InputError(f"{path}: not a trace file: {_EXPECTED} (a folder for the other layouts)")
