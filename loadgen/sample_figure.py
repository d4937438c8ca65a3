"""The figure of `loadgen sample` (`sampling.png`): is each sample like the full trace?

Four panels: calls per minute of the full trace scaled by size / pool beside each sample's,
and the distributions (empirical CDFs, log scale) of the functions' mean rate (calls per
minute in the window), mean duration (ms) and memory (MB), full trace against each sample.
"""

from pathlib import Path

import numpy as np

from loadgen import figures
from loadgen.sample import Sampling

ZERO = 1e-3
"""Where values of 0 are drawn on the log axes."""


def plot_sampling(sampling: Sampling, out_dir: Path, file_format: str = "png") -> Path:
    trace = sampling.trace
    counts = trace.counts_of(sampling.window)[sampling.pool]
    functions = trace.functions.iloc[sampling.pool]
    duration = functions["Average"] if "Average" in functions else functions["percentile_Average_50"]
    memory = functions["AverageAllocatedMb"] if "AverageAllocatedMb" in functions else functions["AverageAllocatedMb_pct50"]
    metrics = {
        "mean rate (calls/minute)": counts.mean(axis=1),
        "mean duration (ms)": duration.fillna(functions["percentile_Average_50"]).to_numpy(dtype=float),
        "memory (MB)": memory.fillna(functions["AverageAllocatedMb_pct50"]).to_numpy(dtype=float),
    }
    figure, grid = figures.new_figure(11, 7.5, rows=2, columns=2)
    minutes = np.arange(sampling.window.start, sampling.window.end)
    load = grid[0, 0]
    for result in sampling.sizes:
        scale = result.size / len(sampling.pool)
        (line,) = load.plot(minutes, counts[result.functions].sum(axis=0), linewidth=1, label=f"sample of {result.size}")
        load.plot(minutes, counts.sum(axis=0) * scale, linewidth=1, linestyle=":", color=line.get_color())
    load.set_xlabel("count column (0-based)")
    load.set_ylabel("calls per minute")
    load.set_title("load: samples (solid), full trace × size / pool (dotted)")
    load.legend()
    for panel, (label, values) in zip((grid[0, 1], grid[1, 0], grid[1, 1]), metrics.items()):
        _cdf(panel, values, "full trace", color="black", linewidth=2)
        for result in sampling.sizes:
            _cdf(panel, values[result.functions], f"sample of {result.size}", linewidth=1)
        panel.set_xscale("log")
        panel.set_xlabel(f"{label}, log scale (0 at {ZERO:g})")
        panel.set_ylabel("share of functions")
        panel.legend()
    return figures.save(figure, out_dir, "sampling", file_format)


def _cdf(axes, values: np.ndarray, label: str, **style) -> None:
    ordered = np.sort(np.maximum(values, ZERO))
    axes.step(ordered, np.arange(1, ordered.size + 1) / ordered.size, where="post", label=label, **style)
