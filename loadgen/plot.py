"""Figures of the trace, the proxy profiles and the mapping between them (`loadgen plot`).

The old vSwarm figures, done with units and titles: histograms of the proxies' memory,
duration and CPU and of the trace functions' memory and duration at one percentile, on
log-decade bins (`log_decade_edges`), the trace histograms marking with ▼ every bin that
holds at least one proxy; a log-log scatter of memory against duration for both. Two more
judge the mapping: the histogram of mapping distances and the mapping error, proxy ÷ trace
for memory and duration per trace function; in both, the functions given the synthetic
function (mapping.csv's `kind`) are drawn apart, with the closest proxy they did not get. The
trace has no CPU figures, so CPU is shown for the proxies only. Values of 0 are drawn at 0.01,
as the mapping's distance treats them.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.mappingfile import KIND_SYNTHETIC, read_mapping
from loadcore.profiles import column, read_profiles
from loadgen import figures
from loadgen.mapping import TRACE_ZERO, build_mapping
from loadgen.traces import Trace, TraceChoices, Window

TRACE_COLOR, PROXY_COLOR, MARK_COLOR, SYNTHETIC_COLOR = "tab:blue", "tab:red", "tab:green", "tab:gray"
SYNTHETIC_LABEL = "synthetic function (its closest proxy, not used)"
METRIC_LABELS = {"memory": "memory", "duration": "duration", "cpu": "CPU"}
PROXY_UNITS = {"memory": "MiB", "duration": "ms", "cpu": "millicores"}
TRACE_UNITS = {"memory": "MB", "duration": "ms"}

FIGURES = (
    "proxy-memory", "proxy-duration", "proxy-cpu", "trace-memory", "trace-duration",
    "function-profiles", "mapping-distance", "mapping-error",
)  # fmt: skip


def log_decade_edges(values: np.ndarray) -> np.ndarray:
    """Bin edges i·10^j (i = 1…9) from the decade of the smallest value to the one above the
    largest, closed by the next power of ten: nine linear bins per decade."""
    low = int(np.floor(np.log10(values.min())))
    high = int(np.floor(np.log10(values.max()))) + 1
    edges = [i * 10.0**j for j in range(low, high) for i in range(1, 10)]
    return np.array(edges + [10.0**high])


def _clamped(values) -> np.ndarray:
    """Finite values with 0 shown at `TRACE_ZERO`."""
    values = np.asarray(values, dtype=float)
    return np.maximum(values[np.isfinite(values)], TRACE_ZERO)


def trace_values(trace: Trace, metric: str, percentile: int) -> np.ndarray:
    return trace.memory_mb(percentile) if metric == "memory" else trace.duration_ms(percentile)


def plot(trace_dir: Path, profile: Path, mapping: Path | None = None, percentile: int = 75,
         out_dir: Path = Path("plots"), file_format: str = "png", choices: TraceChoices = TraceChoices()) -> list[Path]:
    """Read the trace (none of its counts: the figures need none) and profiles, map them at
    `percentile` unless `mapping` (a mapping.csv) is given, and draw every figure into
    `out_dir`; returns the files written."""
    trace = choices.read(trace_dir, window=Window(0, 0, "of no count column"))
    profiles = read_profiles(profile)
    chosen = read_mapping(mapping) if mapping else build_mapping(trace, profiles, percentile)
    return plot_all(trace, profiles, chosen, percentile, out_dir, file_format)


def plot_all(trace: Trace, profiles: pd.DataFrame, mapping: pd.DataFrame, percentile: int,
             out_dir: Path, file_format: str) -> list[Path]:
    """Every figure, in `FIGURES` order; returns the files written."""
    written = [_proxy_histogram(profiles, metric, percentile, out_dir, file_format) for metric in PROXY_UNITS]
    written += [_trace_histogram(trace, profiles, metric, percentile, out_dir, file_format) for metric in TRACE_UNITS]
    written.append(_scatter(trace, profiles, percentile, out_dir, file_format))
    written.append(_distances(mapping, out_dir, file_format))
    written.append(_mapping_error(mapping, out_dir, file_format))
    return written


def _histogram(axes, values: np.ndarray, color: str, what: str) -> np.ndarray:
    """Draw a log-decade histogram; return its edges."""
    edges = log_decade_edges(values)
    counts, _ = np.histogram(values, bins=edges)
    axes.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=color, edgecolor="white", linewidth=0.5)
    axes.set_xscale("log")
    axes.set_xlim(edges[0], edges[-1])
    axes.set_ylabel(f"{what} per bin")
    return edges


def _proxy_histogram(profiles: pd.DataFrame, metric: str, percentile: int, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    raw = profiles[column(metric, percentile)].to_numpy(dtype=float)
    values = _clamped(raw)
    if values.size:
        _histogram(axes, values, PROXY_COLOR, "proxies")
    axes.set_xlabel(f"proxy {METRIC_LABELS[metric]} at p{percentile} ({PROXY_UNITS[metric]}, log scale)")
    axes.set_title(
        f"Proxy functions: {METRIC_LABELS[metric]} at p{percentile} "
        f"({values.size} of {raw.size} proxies profiled)"
    )
    return figures.save(figure, out_dir, f"proxy-{metric}", file_format)


def _trace_histogram(trace: Trace, profiles: pd.DataFrame, metric: str, percentile: int,
                     out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    values = _clamped(trace_values(trace, metric, percentile))
    edges = _histogram(axes, values, TRACE_COLOR, "trace functions")
    proxies, _ = np.histogram(_clamped(profiles[column(metric, percentile)]), bins=edges)
    counts, _ = np.histogram(values, bins=edges)
    covered = np.flatnonzero(proxies)
    centres = np.sqrt(edges[:-1] * edges[1:])
    axes.plot(centres[covered], counts[covered] + counts.max() * 0.03, "v", color=MARK_COLOR,
              label="bin holds ≥ 1 proxy")
    axes.set_ylim(0, counts.max() * 1.12 + 1)
    axes.set_xlabel(
        f"trace {METRIC_LABELS[metric]} at p{percentile} ({TRACE_UNITS[metric]}, log scale; 0 drawn at {TRACE_ZERO})"
    )
    axes.set_title(f"Trace functions: {METRIC_LABELS[metric]} at p{percentile} ({values.size} functions)")
    axes.legend()
    return figures.save(figure, out_dir, f"trace-{metric}", file_format)


def _scatter(trace: Trace, profiles: pd.DataFrame, percentile: int, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(7, 5.5)
    trace_memory, trace_duration = trace.memory_mb(percentile), trace.duration_ms(percentile)
    axes.scatter(np.maximum(trace_memory, TRACE_ZERO), np.maximum(trace_duration, TRACE_ZERO), s=12,
                 color=TRACE_COLOR, alpha=0.6, label=f"trace functions ({len(trace_memory)}; memory in MB)")
    proxy_memory = profiles[column("memory", percentile)].to_numpy(dtype=float)
    proxy_duration = profiles[column("duration", percentile)].to_numpy(dtype=float)
    profiled = np.isfinite(proxy_memory) & np.isfinite(proxy_duration)
    axes.scatter(np.maximum(proxy_memory[profiled], TRACE_ZERO), np.maximum(proxy_duration[profiled], TRACE_ZERO),
                 s=14, marker="x", color=PROXY_COLOR, label=f"proxies ({profiled.sum()}; memory in MiB)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(f"memory at p{percentile} (MB / MiB, log scale)")
    axes.set_ylabel(f"duration at p{percentile} (ms, log scale)")
    axes.set_title(f"Trace functions and proxies: memory vs duration at p{percentile}")
    axes.legend()
    return figures.save(figure, out_dir, "function-profiles", file_format)


def _synthetic(mapping: pd.DataFrame) -> np.ndarray:
    """Which rows got the synthetic function (their proxy columns name the closest proxy)."""
    return (mapping["kind"] == KIND_SYNTHETIC).to_numpy()


def _distances(mapping: pd.DataFrame, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure()
    distance = mapping["distance"].to_numpy(dtype=float)
    synthetic = _synthetic(mapping)
    finite = np.isfinite(distance)
    mapped = distance[finite & ~synthetic]
    edges = np.histogram_bin_edges(distance[finite], bins=40) if finite.any() else 40
    axes.hist([mapped, distance[finite & synthetic]], bins=edges, stacked=True, color=[TRACE_COLOR, SYNTHETIC_COLOR],
              label=["mapped to its proxy", SYNTHETIC_LABEL], edgecolor="white", linewidth=0.5)  # fmt: skip
    if mapped.size:
        for label, value, style in (("median", np.median(mapped), "--"), ("p90", np.percentile(mapped, 90), ":")):
            axes.axvline(value, color="black", linestyle=style, label=f"mapped {label} {value:.2f}")
    axes.set_xlabel("mapping distance: √((ln m_trace − ln m_proxy)² + (ln d_trace − ln d_proxy)²)")
    axes.set_ylabel("trace functions")
    axes.set_title(f"Distance to the closest proxy ({int((~synthetic).sum())} mapped to "
                   f"{mapping['proxy'][~synthetic].nunique()} proxies, {int(synthetic.sum())} synthetic)")
    axes.legend()
    return figures.save(figure, out_dir, "mapping-distance", file_format)


def _mapping_error(mapping: pd.DataFrame, out_dir: Path, file_format: str) -> Path:
    figure, axes = figures.new_figure(7, 5.5)
    memory = mapping["proxy_memory_mib"].to_numpy(dtype=float) / np.maximum(mapping["trace_memory_mb"], TRACE_ZERO)
    duration = mapping["proxy_duration_ms"].to_numpy(dtype=float) / np.maximum(mapping["trace_duration_ms"], TRACE_ZERO)
    synthetic = _synthetic(mapping)
    axes.scatter(memory[~synthetic], duration[~synthetic], s=12, color=TRACE_COLOR, alpha=0.6, label="mapped to its proxy")
    if synthetic.any():
        axes.scatter(memory[synthetic], duration[synthetic], s=14, color=SYNTHETIC_COLOR, marker="x", alpha=0.6,
                     label=SYNTHETIC_LABEL)
    axes.axvline(1, color="black", linewidth=0.8)
    axes.axhline(1, color="black", linewidth=0.8)
    close = (np.abs(np.log2(memory)) <= 1) & (np.abs(np.log2(duration)) <= 1)
    within = int(np.sum(close & ~synthetic))
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(f"memory error: proxy MiB ÷ trace MB (log scale; 1 = exact; trace 0 taken as {TRACE_ZERO})")
    axes.set_ylabel("duration error: proxy ms ÷ trace ms (log scale; 1 = exact)")
    axes.set_title(f"Mapping error per trace function ({within} of {int((~synthetic).sum())} mapped within 2× on both)")
    axes.legend()
    return figures.save(figure, out_dir, "mapping-error", file_format)
