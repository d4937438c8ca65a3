"""The console tables of `loadgen report` beyond the measured phase's (`loadcore.console`)."""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from loadcore.console import printable
from loadcore.mappingfile import KIND_SYNTHETIC
from loadcore.summary import Summary
from loadcore.units import format_unix_us
from loadgen.report_figures import COLD_SOURCES, WORST_FUNCTIONS, function_label


def _ms(value_us, digits: int = 1) -> str:
    return "–" if value_us is None else f"{value_us / 1000:,.{digits}f}"


def render_functions(summary: Summary, console: Console, limit: int = WORST_FUNCTIONS) -> None:
    """Per-function table of the measured phase, worst p99 first (at most `limit` rows)."""
    functions = summary.functions
    with_slowdown = any(f.slowdown_p50 is not None for f in functions)
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
        latency = function.latency_from_schedule_us
        cells = [
            Text(printable(function_label(function))),
            f"{function.calls:,}",
            f"{function.errors:,}",
            _ms(latency["p50"]),
            _ms(latency["p99"]),
        ]
        if with_slowdown:
            cells += [_ratio(function.slowdown_p50), _ratio(function.slowdown_p99)]
        table.add_row(*cells, style="red" if function.errors else None)
    console.print(table)


def _ratio(value) -> str:
    """3 significant digits, without an exponent (a cold 1 ms call's slowdown is over 1,000)."""
    if value is None:
        return "–"
    return f"{value:.3g}×" if value < 1000 else f"{value:,.0f}×"


def render_kinds(summary: Summary, console: Console) -> None:
    """Proxies vs synthetic functions in the measured phase; printed when the run had synthetic
    functions (a proxy-only run's one row would repeat the measured phase). A `cold` column
    (cold calls and their share of the calls that said) when some calls said."""
    if not any(kind.kind == KIND_SYNTHETIC for kind in summary.kinds):
        return
    with_cold = any(kind.cold_calls + kind.warm_calls for kind in summary.kinds)
    table = Table(title="By kind (slowdown: latency from schedule ÷ requested runtime, or ÷ profiled duration)")
    table.add_column("kind")
    for name in ("functions", "calls", "errors", "p50 ms", "p99 ms", "slowdown p50", "slowdown p99") + (
            ("cold",) if with_cold else ()):  # fmt: skip
        table.add_column(name, justify="right")
    for kind in summary.kinds:
        latency = kind.latency_from_schedule_us
        cells = [kind.kind, f"{kind.functions:,}", f"{kind.calls:,}", f"{kind.failed:,}", _ms(latency["p50"]),
                 _ms(latency["p99"]), _ratio(kind.slowdown_p50), _ratio(kind.slowdown_p99)]
        if with_cold:
            known = kind.cold_calls + kind.warm_calls
            cells.append(f"{kind.cold_calls:,} ({kind.cold_calls / known:.0%})" if known else "–")
        table.add_row(*cells, style="red" if kind.failed else None)
    console.print(table)


COLD_FUNCTIONS = 10
"""Rows of the cold-start table at most (all functions are in summary.json)."""


def render_cold_starts(summary: Summary, console: Console, limit: int = COLD_FUNCTIONS) -> None:
    """Cold starts of the measured phase: the share, cold vs warm latency, the functions with
    the most cold calls (at most `limit`). Nothing when the summary has none."""
    cold = summary.cold_starts
    if cold is None:
        return
    known = cold.cold_calls + cold.warm_calls
    share = f"{cold.cold_share:.1%}" if cold.cold_share is not None else "–"
    title = f"Cold starts ({COLD_SOURCES[cold.source]}): {cold.cold_calls:,} of {known:,} calls, {share}"
    latency = Table(title=title)
    latency.add_column("latency from schedule, ms")
    for label in ("p50", "p90", "p99", "max"):
        latency.add_column(label, justify="right")
    for state in ("cold", "warm"):
        values = cold.latency_from_schedule_us[state]
        latency.add_row(state, *(_ms(values[label]) for label in ("p50", "p90", "p99", "max")))
    console.print(latency)
    functions = [f for f in cold.functions if f.cold_calls or f.scale_from_zero]
    if not functions:
        return
    with_scaling = cold.scaling is not None
    heading = "Functions with the most cold calls"
    if len(functions) > limit:
        heading += f" ({limit} of {len(functions)}; all in summary.json)"
    table = Table(title=heading)
    table.add_column("function", overflow="fold")
    for name in ("calls", "cold", "cold share") + (("from zero", "most instances") if with_scaling else ()):
        table.add_column(name, justify="right")
    for function in functions[:limit]:
        cells = [Text(printable(function.function)), f"{function.calls:,}", f"{function.cold_calls:,}",
                 "–" if function.cold_share is None else f"{function.cold_share:.0%}"]  # fmt: skip
        if with_scaling:
            cells += [_count(function.scale_from_zero), _count(function.max_instances)]
        table.add_row(*cells)
    console.print(table)
    if cold.scale_from_zero is not None and cold.scale_from_zero.events:
        delay = cold.scale_from_zero.delay_us
        console.print(f"scale-from-zero events: {cold.scale_from_zero.events:,}; time to the first ready instance "
                      f"p50 {_ms(delay['p50'])} ms, max {_ms(delay['max'])} ms", highlight=False, soft_wrap=True)


def _count(value) -> str:
    return "–" if value is None else f"{value:,}"


def render_workers(summary: Summary, console: Console) -> None:
    """Per-worker table of the measured phase (when more than one worker's rows were merged)."""
    workers = summary.workers
    if len(workers) < 2:
        return
    runs = {worker.run_id for worker in workers}
    several_runs = len(runs) > 1
    of_run = f" of run {next(iter(runs))}" if not several_runs and None not in runs else ""
    table = Table(title=Text(printable(f"Workers{of_run} (measured phase)")))
    if several_runs:
        table.add_column("run", overflow="fold")
    for name in ("shard", "host"):
        table.add_column(name, overflow="fold")
    for name in ("calls", "errors", "send lag p50 ms", "send lag p99 ms"):
        table.add_column(name, justify="right")
    table.add_column("t0 (UTC)")
    table.add_column("t0 offset ms", justify="right")
    for worker in workers:
        lag = worker.send_lag_us
        cells = [] if not several_runs else [Text(printable(worker.run_id or "–"))]
        cells += [
            Text(printable(worker.shard or ", ".join(worker.files))),
            Text(printable(worker.host or "–")),
            f"{worker.calls:,}",
            f"{worker.errors:,}",
            _ms(lag["p50"], 3),
            _ms(lag["p99"], 3),
            format_unix_us(worker.t0_unix_us, 3) if worker.t0_unix_us is not None else "–",
            _ms(worker.t0_offset_us, 3),
        ]
        table.add_row(*cells, style="red" if worker.errors else None)
    console.print(table)
