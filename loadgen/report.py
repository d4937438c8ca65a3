"""Merge invoker results CSVs into one report: `summary.json`, console tables and figures.

Results of several processes or worker nodes are streamed (`loadgen.resultsfile`) through
the mergeable statistics of `invoker.stats`, so memory does not grow with the row count,
except for de-duplication: rows are de-duplicated by `invocation_id` (the first row of an
id wins) using a set of 64-bit hashes of the ids, 8 bytes per row kept in sorted arrays
(80 MB for ten million rows). Two distinct ids share a hash with probability below 1e-6 at
a hundred million rows; such a row would be counted as a duplicate.

`summary.json` (stable keys; times in integer µs, rates in calls/s, null when unknown):

    {"inputs":   {"results": [path, ...], "load": path|null, "mapping": path|null,
                  "granularity": "minute"|"second", "warmup_units": int, "measured_units": int},
     "files":    [{"path", "rows", "duplicate_rows", "partial_last_line": line|null,
                   "first_unit", "last_unit"}, ...],
     "warnings": [str, ...],
     "measured": <invoker.stats.ResultStats.summary()>,
     "units":    [{"unit", "phase", "issued", "scheduled"|null, "errors",
                   "latency_us": {p50..max}, "latency_from_schedule_us": {p50..max}}, ...],
     "functions": [{"endpoint", "service"|null, "proxy"|null, "calls", "errors",
                    "latency_us": {...}, "latency_from_schedule_us": {...},
                    "profiled_duration_us"|null, "slowdown_p50"|null, "slowdown_p99"|null}, ...]}

`units` covers every unit seen or scheduled (warm-up included); `functions` covers the
measured phase only, worst p99 latency from schedule first. The slowdown is the latency
from schedule divided by the proxy's profiled duration in `mapping.csv` (see
`function_profiles`); the profiled duration is timed inside the relay, so the slowdown
includes the platform's whole overhead (ingress, activator, queue-proxy, cold starts).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

from invoker.loadfile import read_load
from invoker.results import PHASE_MEASURE, PHASE_WARMUP
from invoker.stats import Breakdown, ResultStats, cdf, empty_percentiles
from loadgen import figures
from loadgen.resultsfile import ResultsChunks
from loadcore.units import UNIT_US

WORST_FUNCTIONS = 20


class SeenIds:
    """The set of invocation ids read so far, as 64-bit hashes in sorted runs.

    Runs are merged like a binary counter (a run is merged into the previous one while that
    one is at most twice as long), so each lookup searches O(log n) runs.
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def first_seen(self, ids: pd.Series) -> np.ndarray:
        """Mask of the ids never seen before (and first within `ids`); adds them to the set."""
        hashes = pd.util.hash_pandas_object(ids, index=False).to_numpy()
        fresh = np.zeros(hashes.size, dtype=bool)
        fresh[np.unique(hashes, return_index=True)[1]] = True
        for run in self._runs:
            position = np.minimum(np.searchsorted(run, hashes), run.size - 1)
            fresh &= run[position] != hashes
        if fresh.any():
            self._runs.append(np.sort(hashes[fresh]))
            while len(self._runs) > 1 and self._runs[-2].size <= 2 * self._runs[-1].size:
                newest = self._runs.pop()
                self._runs[-1] = np.sort(np.concatenate((self._runs[-1], newest)))
        return fresh


@dataclass
class FileSummary:
    path: Path
    rows: int = 0
    duplicate_rows: int = 0
    partial_last_line: int | None = None
    units: set = field(default_factory=set)


@dataclass
class MergedResults:
    """Everything the report needs, in memory bounded by units and endpoints, not rows."""

    stats: ResultStats = field(default_factory=ResultStats)
    per_function: Breakdown = field(default_factory=Breakdown)
    per_unit: Breakdown = field(default_factory=Breakdown)
    last_warmup_unit: int = -1
    files: list = field(default_factory=list)
    max_offset_us: int = 0

    @property
    def granularity(self) -> str:
        """`second` when every call was due within the first second of its unit.

        A call of unit k is due at k·unit + offset with 0 ≤ offset < unit (`invoker.schedule`).
        """
        return "second" if self.max_offset_us < UNIT_US["second"] else "minute"


def merge_results(paths: list[Path], on_progress: Callable[[int], None] = lambda done: None) -> MergedResults:
    """Stream every results file into one `MergedResults`; `on_progress(bytes read so far)`."""
    merged = MergedResults()
    seen = SeenIds()
    done = 0
    for path in paths:
        chunks = ResultsChunks(path)
        summary = FileSummary(Path(path))
        for table in chunks:
            fresh = seen.first_seen(table["invocation_id"])
            summary.duplicate_rows += int((~fresh).sum())
            _add(merged, summary, table[fresh])
            on_progress(done + chunks.bytes_read)
        done += chunks.bytes_read
        summary.rows = chunks.rows
        summary.partial_last_line = chunks.partial_last_line
        merged.files.append(summary)
    return merged


def _add(merged: MergedResults, summary: FileSummary, table: pd.DataFrame) -> None:
    if table.empty:
        return
    unit = table["unit"].to_numpy()
    offset = table["scheduled_us"].to_numpy() - unit * UNIT_US["second"]
    merged.max_offset_us = max(merged.max_offset_us, int(offset.max()))
    summary.units.update(np.unique(unit).tolist())
    is_measured = (table["phase"] == PHASE_MEASURE).to_numpy()
    if not is_measured.all():
        merged.last_warmup_unit = max(merged.last_warmup_unit, int(unit[~is_measured].max()))
    measured = table[is_measured]
    merged.per_unit.add_columns(unit, table["status"], table["latency_us"], table["latency_from_schedule_us"])
    merged.stats.add_columns(
        table["phase"], table["status"], table["latency_us"], table["latency_from_schedule_us"], table["lag_us"]
    )
    merged.per_function.add_columns(
        measured["endpoint"], measured["status"], measured["latency_us"], measured["latency_from_schedule_us"]
    )


@dataclass(frozen=True)
class Scheduled:
    """What the load file scheduled: calls per unit, from `invoker.loadfile.read_load`."""

    path: Path
    calls_per_unit: np.ndarray

    @classmethod
    def from_load(cls, path: Path) -> "Scheduled":
        load = read_load(Path(path))
        return cls(Path(path), np.bincount(load.unit, minlength=load.units))


def warnings(merged: MergedResults, calls_per_unit: np.ndarray | None, load_path: Path | None) -> list[str]:
    """Partial lines, overlapping shards, files missing units, units nobody issued."""
    found = []
    all_units = set().union(*(f.units for f in merged.files)) if merged.files else set()
    for summary in merged.files:
        if summary.partial_last_line is not None:
            found.append(
                f"{summary.path}: line {summary.partial_last_line} is an unterminated last line "
                f"(interrupted run?); it was ignored"
            )
        if summary.duplicate_rows:
            found.append(
                f"{summary.path}: {summary.duplicate_rows} row(s) repeat invocation ids already read "
                f"(overlapping shards?); each id was counted once"
            )
        missing = sorted(all_units - summary.units)
        if summary.units and missing:
            found.append(
                f"{summary.path}: no rows for unit(s) {_ranges(missing)} that other files have "
                f"(did this worker stop early?)"
            )
    if calls_per_unit is not None:
        silent = [u for u in np.flatnonzero(calls_per_unit).tolist() if u not in all_units]
        if silent:
            found.append(f"{load_path}: unit(s) {_ranges(silent)} had calls scheduled but no results")
    return found


def _ranges(numbers: list[int]) -> str:
    """Sorted `[1, 2, 3, 7]` → `1–3, 7`."""
    runs = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def build_summary(
    merged: MergedResults,
    inputs: dict,
    scheduled: Scheduled | None = None,
    warmup_units: int | None = None,
    measured_units: int | None = None,
    granularity: str | None = None,
    function_profiles: pd.DataFrame | None = None,
) -> dict:
    """The `summary.json` document (see the module docstring).

    The run is taken to be `warmup_units` + `measured_units` units long, as `invoker replay
    --warmup --duration` played it. By default `warmup_units` is one past the last unit
    with warm-up rows, `measured_units` runs to the last unit with results, and
    `granularity` is the one the scheduled times show. `function_profiles` comes from
    `function_profiles()`.
    """
    granularity = granularity or merged.granularity
    notes = []
    if warmup_units is None:
        warmup_units = merged.last_warmup_unit + 1
    elif warmup_units != merged.last_warmup_unit + 1 and merged.last_warmup_unit >= 0:
        notes.append(
            f"--warmup {warmup_units}, but the results tag units up to {merged.last_warmup_unit} as warm-up; "
            f"the summary follows the results' phase column"
        )
    if function_profiles is not None:
        unmapped = sorted(set(merged.per_function.calls) - set(function_profiles.index))
        if unmapped:
            notes.append(
                f"{inputs.get('mapping')}: {len(unmapped)} endpoint(s) of the results are not in it "
                f"(first: {unmapped[0]}); they have no proxy or slowdown"
            )
    if measured_units is None:
        measured_units = max(max(merged.per_unit.calls, default=-1) + 1 - warmup_units, 0)
    units = warmup_units + measured_units
    calls_per_unit = None
    if scheduled is not None:
        calls_per_unit = np.zeros(units, dtype=np.int64)
        known = min(units, scheduled.calls_per_unit.size)
        calls_per_unit[:known] = scheduled.calls_per_unit[:known]
        if scheduled.calls_per_unit.size > units:
            notes.append(
                f"{scheduled.path}: has {scheduled.calls_per_unit.size} units, the run is taken as "
                f"{units} ({warmup_units} warm-up); give --duration if the run was meant to be longer"
            )
    measured_seconds = measured_units * UNIT_US[granularity] / 1e6
    return {
        "inputs": {**inputs, "granularity": granularity, "warmup_units": warmup_units,
                   "measured_units": measured_units},
        "files": [
            {
                "path": str(f.path),
                "rows": f.rows,
                "duplicate_rows": f.duplicate_rows,
                "partial_last_line": f.partial_last_line,
                "first_unit": min(f.units) if f.units else None,
                "last_unit": max(f.units) if f.units else None,
            }
            for f in merged.files
        ],
        "warnings": warnings(merged, calls_per_unit, scheduled.path if scheduled else None) + notes,
        "measured": merged.stats.summary(
            scheduled_calls=int(calls_per_unit[warmup_units:].sum()) if calls_per_unit is not None else None,
            measured_seconds=measured_seconds or None,
        ),
        "units": _units(merged, calls_per_unit, warmup_units, units),
        "functions": _functions(merged, function_profiles),
    }


def _units(merged: MergedResults, calls_per_unit: np.ndarray | None, warmup_units: int, units: int) -> list[dict]:
    rows = merged.per_unit.rows()
    nothing = {"calls": 0, "errors": 0, "latency_us": empty_percentiles(), "latency_from_schedule_us": empty_percentiles()}
    return [
        {
            "unit": unit,
            "phase": PHASE_WARMUP if unit < warmup_units else PHASE_MEASURE,
            "issued": rows.get(unit, nothing)["calls"],
            "scheduled": int(calls_per_unit[unit]) if calls_per_unit is not None and unit < units else None,
            "errors": rows.get(unit, nothing)["errors"],
            "latency_us": rows.get(unit, nothing)["latency_us"],
            "latency_from_schedule_us": rows.get(unit, nothing)["latency_from_schedule_us"],
        }
        for unit in range(max(units, max(rows, default=-1) + 1))
    ]


def function_profiles(mapping: pd.DataFrame, endpoints) -> pd.DataFrame:
    """Service, proxy and profiled duration (µs, at the mapping percentile) per endpoint.

    `mapping` is a `loadcore.mappingfile.read_mapping` table. An endpoint matches a mapping row
    by its `endpoint`, or else by its first DNS label being the row's `service` (so results
    against an emulator or another domain still match). Unmatched endpoints are left out.
    """
    by_endpoint = mapping[mapping["endpoint"] != ""].set_index("endpoint")
    by_service = mapping.set_index("service")
    rows = {}
    for endpoint in endpoints:
        service = endpoint.split(".", 1)[0]
        if endpoint in by_endpoint.index:
            row = by_endpoint.loc[endpoint]
            service = row["service"]
        elif service in by_service.index:
            row = by_service.loc[service]
        else:
            continue
        rows[endpoint] = {"service": service, "proxy": row["proxy"],
                          "profiled_duration_us": float(row["proxy_duration_ms"]) * 1000}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["service", "proxy", "profiled_duration_us"])


def _functions(merged: MergedResults, profiles: pd.DataFrame | None) -> list[dict]:
    functions = []
    for endpoint, row in merged.per_function.rows().items():
        known = profiles is not None and endpoint in profiles.index
        profile = profiles.loc[endpoint] if known else {"service": None, "proxy": None, "profiled_duration_us": None}
        duration = float(profile["profiled_duration_us"]) if known else None
        from_schedule = row["latency_from_schedule_us"]
        slowdown = duration is not None and duration > 0
        functions.append({
            "endpoint": endpoint,
            "service": profile["service"],
            "proxy": profile["proxy"],
            "calls": row["calls"],
            "errors": row["errors"],
            "latency_us": row["latency_us"],
            "latency_from_schedule_us": from_schedule,
            "profiled_duration_us": duration,
            "slowdown_p50": from_schedule["p50"] / duration if slowdown else None,
            "slowdown_p99": from_schedule["p99"] / duration if slowdown else None,
        })
    functions.sort(key=lambda f: -(f["latency_from_schedule_us"]["p99"] or 0))
    return functions


def write_summary(summary: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    return path


def _ms(value_us) -> str:
    return "–" if value_us is None else f"{value_us / 1000:,.1f}"


def render_functions(summary: dict, console: Console, limit: int = WORST_FUNCTIONS) -> None:
    """Per-function table of the measured phase, worst p99 first (at most `limit` rows)."""
    functions = summary["functions"]
    with_slowdown = any(f["slowdown_p50"] is not None for f in functions)
    title = "Functions, worst p99 latency from schedule first"
    if len(functions) > limit:
        title += f" ({limit} of {len(functions)}; all in summary.json)"
    table = Table(title=title)
    table.add_column("function", overflow="fold")
    for name in ("calls", "errors", "p50 ms", "p99 ms"):
        table.add_column(name, justify="right")
    if with_slowdown:
        table.add_column("slowdown p50", justify="right")
        table.add_column("slowdown p99", justify="right")
    for function in functions[:limit]:
        latency = function["latency_from_schedule_us"]
        cells = [
            _function_label(function),
            f"{function['calls']:,}",
            f"{function['errors']:,}",
            _ms(latency["p50"]),
            _ms(latency["p99"]),
        ]
        if with_slowdown:
            cells += [_ratio(function["slowdown_p50"]), _ratio(function["slowdown_p99"])]
        table.add_row(*cells, style="red" if function["errors"] else None)
    console.print(table)


def _function_label(function: dict) -> str:
    service = function["endpoint"].split(".", 1)[0]
    return f"{service} ({function['proxy']})" if function["proxy"] and function["proxy"] not in service else service


def _ratio(value) -> str:
    return "–" if value is None else f"{value:.3g}×"


def write_figures(merged: MergedResults, summary: dict, out_dir: Path, file_format: str) -> list[Path]:
    """The report's figures, named `latency-cdf`, `send-lag-cdf`, `latency-per-unit`,
    `calls-per-unit` and `worst-functions-p99`."""
    return [
        _latency_cdf(merged, out_dir, file_format),
        _send_lag_cdf(merged, out_dir, file_format),
        _latency_per_unit(summary, out_dir, file_format),
        _calls_per_unit(summary, out_dir, file_format),
        _worst_functions(summary, out_dir, file_format),
    ]


def _latency_cdf(merged: MergedResults, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    for name, label, style in (
        ("latency_from_schedule_us", "from scheduled time (no coordinated omission)", "-"),
        ("latency_us", "from send time", "--"),
    ):
        values, fractions = cdf(merged.stats.histograms[name])
        axes.step(np.maximum(values, 1) / 1000, fractions, where="post", linestyle=style, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("latency (ms, log scale)")
    axes.set_ylabel("fraction of calls ≤ latency")
    axes.set_ylim(0, 1.01)
    axes.set_title(f"Latency CDF, measured phase ({merged.stats.calls:,} calls)")
    axes.legend(loc="lower right")
    return figures.save(figure, out_dir, "latency-cdf", file_format)


def _send_lag_cdf(merged: MergedResults, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    values, fractions = cdf(merged.stats.histograms["send_lag_us"])
    axes.step(values / 1000, fractions, where="post")
    axes.set_xscale("symlog", linthresh=0.01)
    axes.set_xlabel("send lag = sent − scheduled (ms; linear below 0.01 ms, log above)")
    axes.set_ylabel("fraction of calls ≤ lag")
    axes.set_ylim(0, 1.01)
    axes.set_title("Invoker send lag CDF, measured phase (the load generator's own accuracy)")
    return figures.save(figure, out_dir, "send-lag-cdf", file_format)


def _latency_per_unit(summary: dict, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(9, 4.5)
    units = summary["units"]
    x = [u["unit"] for u in units]
    for name, anchor, style in (("latency_from_schedule_us", "from schedule", "-"), ("latency_us", "from send", "--")):
        for label, color in (("p50", "tab:blue"), ("p99", "tab:orange"), ("p99.9", "tab:red")):
            y = [np.nan if u[name][label] is None else u[name][label] / 1000 for u in units]
            axes.plot(x, y, linestyle=style, color=color, marker=".", label=f"{label} {anchor}")
    _shade_warmup(axes, summary)
    axes.set_yscale("log")
    axes.set_xlabel(f"unit ({summary['inputs']['granularity']} since start)")
    axes.set_ylabel("latency (ms, log scale)")
    axes.set_title("Latency percentiles per unit")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return figures.save(figure, out_dir, "latency-per-unit", file_format)


def _shade_warmup(axes, summary: dict) -> None:
    warmup = summary["inputs"]["warmup_units"]
    if warmup:
        axes.axvspan(-0.5, warmup - 0.5, color="grey", alpha=0.15, label="warm-up")


def _calls_per_unit(summary: dict, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(8, 4.5)
    units = summary["units"]
    x = np.array([u["unit"] for u in units])
    issued = np.array([u["issued"] for u in units])
    errors = np.array([u["errors"] for u in units])
    axes.bar(x, issued - errors, color="tab:blue", label="issued, OK")
    axes.bar(x, errors, bottom=issued - errors, color="tab:red", label="issued, failed")
    if all(u["scheduled"] is not None for u in units) and units:
        axes.step(x, [u["scheduled"] for u in units], where="mid", color="black", label="scheduled")
    _shade_warmup(axes, summary)
    axes.set_xlabel(f"unit ({summary['inputs']['granularity']} since start)")
    axes.set_ylabel("calls per unit")
    axes.set_title("Issued vs scheduled calls per unit")
    axes.legend()
    return figures.save(figure, out_dir, "calls-per-unit", file_format)


def _worst_functions(summary: dict, out_dir: Path, file_format: str) -> Path:
    worst = [f for f in summary["functions"] if f["latency_from_schedule_us"]["p99"] is not None][:WORST_FUNCTIONS]
    figure, axes = figures.new_figure(8, max(3, 0.3 * len(worst) + 1.5))
    labels = [_function_label(f) for f in worst][::-1]
    p99 = [f["latency_from_schedule_us"]["p99"] / 1000 for f in worst][::-1]
    bars = axes.barh(range(len(worst)), p99, color="tab:orange")
    axes.bar_label(bars, labels=[f"{value:,.1f}" for value in p99], padding=3, fontsize=8)
    axes.set_yticks(range(len(worst)), labels, fontsize=8)
    axes.set_xlim(0, max(p99, default=1) * 1.15)
    axes.set_xlabel("p99 latency from schedule (ms)")
    axes.set_title(f"The {len(worst)} functions with the worst p99 latency, measured phase")
    return figures.save(figure, out_dir, "worst-functions-p99", file_format)
