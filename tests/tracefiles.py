"""Small Azure-style trace folders for tests, built as rows so tests can break them on purpose."""

from dataclasses import dataclass, field
from pathlib import Path

DURATION_HEADER = [
    "HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum",
    "percentile_Average_0", "percentile_Average_1", "percentile_Average_25", "percentile_Average_50",
    "percentile_Average_75", "percentile_Average_99", "percentile_Average_100",
]  # fmt: skip
MEMORY_PERCENTILES = ["1", "5", "25", "50", "75", "95", "99", "100"]


@dataclass
class TraceRows:
    """The three files of a trace as lists of rows (header first), editable before writing."""

    invocations: list[list[str]]
    durations: list[list[str]]
    memory: list[list[str]]
    names: dict[str, str] = field(
        default_factory=lambda: {"invocations": "invocations.csv", "durations": "durations.csv", "memory": "memory.csv"}
    )

    def write(self, directory: Path, newline: str = "\n", bom: bool = False) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for role in ("invocations", "durations", "memory"):
            text = newline.join(",".join(row) for row in getattr(self, role)) + newline
            (directory / self.names[role]).write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
        return directory


def key(i: int, app: int | None = None) -> list[str]:
    """(owner, app, function) ids of function i; functions share app `app` when given."""
    app_id = i if app is None else app
    return [f"owner{app_id:02d}", f"app{app_id:02d}", f"func{i:02d}"]


def trace_rows(counts: list[list[int]], apps: list[int] | None = None, per_app_memory: bool = False) -> TraceRows:
    """A trace with one function per counts row (function i: duration 10·(i+1) ms at every
    percentile, memory 100·(i+1) MB at every percentile; per-app memory uses the app's first function)."""
    apps = apps or list(range(len(counts)))
    units = len(counts[0])
    invocations = [["HashOwner", "HashApp", "HashFunction", "Trigger", *map(str, range(1, units + 1))]]
    durations = [list(DURATION_HEADER)]
    memory_header = ["HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb"]
    memory_header += [f"AverageAllocatedMb_pct{p}" for p in MEMORY_PERCENTILES]
    memory = [memory_header if per_app_memory else ["HashFunction", *memory_header]]
    seen_apps = set()
    for i, row in enumerate(counts):
        owner, app, function = key(i, apps[i])
        invocations.append([owner, app, function, "http", *map(str, row)])
        ms = str(10 * (i + 1))
        durations.append([owner, app, function, ms, "100", ms, ms, *[ms] * 7])
        mb = str(100 * (i + 1))
        if per_app_memory:
            if app not in seen_apps:
                memory.append([owner, app, "60", mb, *[mb] * 8])
                seen_apps.add(app)
        else:
            memory.append([function, owner, app, "60", mb, *[mb] * 8])
    return TraceRows(invocations, durations, memory)


def official_day(rows: TraceRows, day: int) -> TraceRows:
    """`rows` named as day `day` of the official Azure 2019 download."""
    rows.names = {
        "invocations": f"invocations_per_function_md.anon.d{day:02d}.csv",
        "durations": f"function_durations_percentiles.anon.d{day:02d}.csv",
        "memory": f"app_memory_percentiles.anon.d{day:02d}.csv",
    }
    return rows


def invitro2022_rows(counts: list[list[int]], apps: list[int] | None = None, prefix: str = "50") -> TraceRows:
    """invitro's 2022 layout: no Trigger, `minute_N` headers, hash columns reordered as its
    files have them (HashFunction, HashApp, HashOwner), per-app memory keyed HashApp first."""
    rows = trace_rows(counts, apps, per_app_memory=True)
    order = [2, 1, 0]
    rows.invocations = [[row[i] for i in order] + row[4:] for row in rows.invocations]
    rows.invocations[0][3:] = [f"minute_{n}" for n in range(1, len(counts[0]) + 1)]
    rows.durations = [[row[i] for i in order] + row[3:] for row in rows.durations]
    rows.memory = [[row[1], row[0], *row[2:]] for row in rows.memory]
    rows.names = {"invocations": f"{prefix}_inv.csv", "durations": f"{prefix}_run.csv", "memory": f"{prefix}_mem.csv"}
    return rows


CALL_HEADER = ["app", "func", "end_timestamp", "duration"]


def write_calls(path: Path, calls: list[tuple], header: list[str] = CALL_HEADER) -> Path:
    """A 2021 per-invocation trace file: one (app, func, end seconds, duration seconds) per call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(map(str, call)) for call in calls]
    path.write_text("\n".join(lines) + "\n")
    return path
