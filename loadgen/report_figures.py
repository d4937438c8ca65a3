"""The figures of `loadgen report`, from the merged results and the summary built from them:
`latency-cdf` (both anchors, log x), `send-lag-cdf` (one curve per worker too when there are
several), `latency-per-unit` (p50/p99/p99.9 per unit, warm-up shaded), `calls-per-unit`
(issued, OK and failed, vs scheduled) and `worst-functions-p99` (the `WORST_FUNCTIONS` worst
functions); when some calls have a slowdown, `slowdown-cdf` (per-call slowdown, one line per
kind); when calls have cold-start flags, `latency-cdf-cold-warm` (cold and warm calls apart),
and with a scaling.csv, `instances` (ready and pending instances over time of the functions
with the most cold calls)."""

from pathlib import Path

import numpy as np


from loadcore.console import printable
from loadcore.histogram import cdf
from loadcore.results import COLD_FALSE, COLD_TRUE
from loadcore.summary import FunctionSummary, Summary
from loadgen import figures
from loadgen.merge import SLOWDOWN_SCALE, MergedResults

WORST_FUNCTIONS = 20
MARKED_UNITS = 500  # per-unit lines get a marker per point up to this many units; beyond, markers only blot
COLD_SOURCES = {"reported": "reported by the replies", "inferred": "inferred from scaling.csv",
                "reported and inferred": "reported by the replies or inferred from scaling.csv", "none": "unknown"}
"""How the summary's `cold_starts.source` reads in titles."""
WORST_WORKERS = 10


def function_label(function: FunctionSummary) -> str:
    """A function's service name, with its proxy when the name does not show it."""
    service = function.endpoint.split(".", 1)[0]
    return f"{service} ({function.proxy})" if function.proxy and function.proxy not in service else service


def write_figures(merged: MergedResults, summary: Summary, out_dir: Path, file_format: str) -> list[Path]:
    """The report's figures, named `latency-cdf`, `send-lag-cdf`, `latency-per-unit`,
    `calls-per-unit` and `worst-functions-p99`, then `slowdown-cdf`, `latency-cdf-cold-warm`
    and `instances` when there is something to draw (`slowdown-cdf`: synthetic calls, or proxies
    with the mapping)."""
    written = [
        _latency_cdf(merged, out_dir, file_format),
        _send_lag_cdf(merged, out_dir, file_format),
        _latency_per_unit(summary, out_dir, file_format),
        _calls_per_unit(summary, out_dir, file_format),
        _worst_functions(summary, out_dir, file_format),
    ]
    if merged.slowdown_by_kind.histograms:
        written.append(_slowdown_cdf(merged, out_dir, file_format))
    if len(merged.by_cold):
        written.append(_cold_warm_cdf(merged, summary, out_dir, file_format))
    if summary.cold_starts is not None and summary.cold_starts.instances:
        written.append(_instances(summary, out_dir, file_format))
    return written


def _slowdown_cdf(merged: MergedResults, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    for kind, histogram in sorted(merged.slowdown_by_kind.histograms.items()):
        values, fractions = cdf(histogram)
        axes.step(np.maximum(values, 1) / SLOWDOWN_SCALE, fractions, where="post",
                  label=f"{kind} ({histogram.total_count:,} calls)")
    axes.axvline(1, color="grey", linewidth=0.8)
    _cdf_axes(axes, "slowdown = latency from schedule ÷ requested runtime (synthetic) or profiled duration (proxy), log",
              "Slowdown CDF by kind, measured phase", quantity="slowdown")
    return figures.save(figure, out_dir, "slowdown-cdf", file_format)


def _latency_cdf(merged: MergedResults, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    for name, label, style in (
        ("latency_from_schedule_us", "from scheduled time (no coordinated omission)", "-"),
        ("latency_us", "from send time", "--"),
    ):
        values, fractions = cdf(merged.measured.histogram(name))
        axes.step(np.maximum(values, 1) / 1000, fractions, where="post", linestyle=style, label=label)
    _cdf_axes(axes, "latency (ms, log scale)", f"Latency CDF, measured phase ({merged.measured.calls:,} calls)")
    return figures.save(figure, out_dir, "latency-cdf", file_format)


def _cdf_axes(axes, xlabel: str, title: str, quantity: str = "latency") -> None:
    """Log-x axes of a CDF of calls' `quantity`, with its legend."""
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"fraction of calls ≤ {quantity}")
    axes.set_ylim(0, 1.01)
    axes.set_title(title)
    axes.legend(loc="lower right")


def _send_lag_cdf(merged: MergedResults, out_dir: Path, file_format: str) -> Path:
    """The send lag of all calls, and of each worker when several were merged (the
    `WORST_WORKERS` with the highest p99), so a worker that could not keep up stands out."""
    figure, axes = figures.new_figure()
    values, fractions = cdf(merged.measured.histogram("send_lag_us"))
    several = len(merged.per_worker) > 1
    axes.step(values / 1000, fractions, where="post", linewidth=2.5 if several else None,
              label="all workers" if several else None)  # fmt: skip
    if several:
        worst = sorted(merged.per_worker.items(), key=lambda item: -(item[1].percentiles("send_lag_us")["p99"] or 0))
        for code, stats in worst[:WORST_WORKERS]:
            values, fractions = cdf(stats.histogram("send_lag_us"))
            axes.step(values / 1000, fractions, where="post", linewidth=1, label=printable(merged.workers[code].label))
        for text in axes.legend(loc="lower right", fontsize=7).get_texts():
            text.set_parse_math(False)  # hosts and file names are data, '$' included
    axes.set_xscale("symlog", linthresh=0.01)
    axes.set_xlabel("send lag = sent − scheduled (ms; linear below 0.01 ms, log above)")
    axes.set_ylabel("fraction of calls ≤ lag")
    axes.set_ylim(0, 1.01)
    axes.set_title("Invoker send lag CDF, measured phase (the load generator's own accuracy)")
    return figures.save(figure, out_dir, "send-lag-cdf", file_format)


def _latency_per_unit(summary: Summary, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(9, 4.5)
    units = summary.units
    x = [u.unit for u in units]
    for name, anchor, style in (("latency_from_schedule_us", "from schedule", "-"), ("latency_us", "from send", "--")):
        for label, color in (("p50", "tab:blue"), ("p99", "tab:orange"), ("p99.9", "tab:red")):
            y = [np.nan if getattr(u, name)[label] is None else getattr(u, name)[label] / 1000 for u in units]
            axes.plot(x, y, linestyle=style, color=color, marker="." if len(units) <= MARKED_UNITS else None,
                      label=f"{label} {anchor}")
    _shade_warmup(axes, summary)
    axes.set_yscale("log")
    axes.set_xlabel(f"unit ({summary.inputs.granularity} since start)")
    axes.set_ylabel("latency (ms, log scale)")
    axes.set_title("Latency percentiles per unit")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return figures.save(figure, out_dir, "latency-per-unit", file_format)


def _shade_warmup(axes, summary: Summary) -> None:
    warmup = summary.inputs.warmup_units
    if warmup:
        axes.axvspan(-0.5, warmup - 0.5, color="grey", alpha=0.15, label="warm-up")


def _calls_per_unit(summary: Summary, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(8, 4.5)
    units = summary.units
    x = np.array([u.unit for u in units])
    issued = np.array([u.issued for u in units])
    errors = np.array([u.errors for u in units])
    if units:  # one filled step per unit: as bars, but one artist for any number of units
        edges = np.arange(len(units) + 1) - 0.5
        axes.stairs(issued - errors, edges, fill=True, color="tab:blue", label="issued, OK")
        axes.stairs(issued, edges, baseline=issued - errors, fill=True, color="tab:red", label="issued, failed")
    if all(u.scheduled is not None for u in units) and units:
        axes.step(x, [u.scheduled for u in units], where="mid", color="black", label="scheduled")
    _shade_warmup(axes, summary)
    axes.set_xlabel(f"unit ({summary.inputs.granularity} since start)")
    axes.set_ylabel("calls per unit")
    axes.set_title("Issued vs scheduled calls per unit")
    if units:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return figures.save(figure, out_dir, "calls-per-unit", file_format)


def _worst_functions(summary: Summary, out_dir: Path, file_format: str) -> Path:
    worst = [f for f in summary.functions if f.latency_from_schedule_us["p99"] is not None][:WORST_FUNCTIONS]
    figure, axes = figures.new_figure(8, max(3, 0.3 * len(worst) + 1.5))
    labels = [printable(function_label(f)) for f in worst][::-1]
    p99 = [f.latency_from_schedule_us["p99"] / 1000 for f in worst][::-1]
    bars = axes.barh(range(len(worst)), p99, color="tab:orange")
    axes.bar_label(bars, labels=[f"{value:,.1f}" for value in p99], padding=3, fontsize=8)
    axes.set_yticks(range(len(worst)), labels, fontsize=8, parse_math=False)  # names are data, '$' included
    axes.set_xlim(0, max(p99, default=1) * 1.15)
    axes.set_xlabel("p99 latency from schedule (ms)")
    axes.set_title(f"The {len(worst)} functions with the worst p99 latency, measured phase")
    return figures.save(figure, out_dir, "worst-functions-p99", file_format)


def _cold_warm_cdf(merged: MergedResults, summary: Summary, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    how = COLD_SOURCES[summary.cold_starts.source]
    for flag, label, color in ((COLD_TRUE, "cold", "tab:blue"), (COLD_FALSE, "warm", "tab:orange")):
        if flag not in merged.by_cold:
            continue
        stats = merged.by_cold.entry(flag)
        values, fractions = cdf(stats.histogram("latency_from_schedule_us"))
        axes.step(np.maximum(values, 1) / 1000, fractions, where="post", color=color,
                  label=f"{label} ({stats.calls:,} calls)")  # fmt: skip
    _cdf_axes(axes, "latency from scheduled time (ms, log scale)",
              f"Latency CDF of cold and warm calls, measured phase\n(cold starts {how})")
    return figures.save(figure, out_dir, "latency-cdf-cold-warm", file_format)


def _instances(summary: Summary, out_dir: Path, file_format: str) -> Path:
    cold = summary.cold_starts
    series = cold.instances
    figure, grid = figures.new_figure(9, 1.6 * len(series) + 1.2, rows=len(series), sharex=True)
    grid = np.atleast_1d(grid)
    calls = {f.function: f for f in cold.functions}
    for axes, one in zip(grid, series):
        axes.step(one.time_s, one.ready, where="post", color="tab:green", label="ready")
        axes.step(one.time_s, np.add(one.ready, one.pending), where="post", color="tab:grey", linestyle="--",
                  label="ready + pending")  # fmt: skip
        info = calls[one.function]
        axes.set_title(f"{printable(one.function)}: {info.cold_calls:,} cold of {info.calls:,} calls", fontsize=9,
                       loc="left", parse_math=False)  # names are data, '$' included
        axes.set_ylabel("instances")
        axes.set_ylim(bottom=0)
        axes.yaxis.get_major_locator().set_params(integer=True)  # the default locator, integer ticks
    grid[0].legend(loc="upper right", fontsize=8)
    since = "t0" if cold.t0_unix_us is not None else "the first scaling.csv row"
    grid[-1].set_xlabel(f"seconds since {since}")
    figure.suptitle(f"Instances over time of the {len(series)} functions with the most cold calls")
    return figures.save(figure, out_dir, "instances", file_format)
