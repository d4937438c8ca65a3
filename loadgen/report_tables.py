"""The console tables of `loadgen report` beyond the measured phase's (`loadcore.console`)."""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from loadcore.console import printable
from loadcore.mappingfile import KIND_SYNTHETIC
from loadcore.summary import Summary
from loadgen.report_figures import WORST_FUNCTIONS, function_label


def _ms(value_us) -> str:
    return "–" if value_us is None else f"{value_us / 1000:,.1f}"


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
    return "–" if value is None else f"{value:.3g}×"




def render_kinds(summary: Summary, console: Console) -> None:
    """Proxies vs synthetic functions in the measured phase; printed when the run had synthetic
    functions (a proxy-only run's one row would repeat the measured phase)."""
    if not any(kind.kind == KIND_SYNTHETIC for kind in summary.kinds):
        return
    table = Table(title="By kind (slowdown: latency from schedule ÷ requested runtime, or ÷ profiled duration)")
    table.add_column("kind")
    for name in ("functions", "calls", "errors", "p50 ms", "p99 ms", "slowdown p50", "slowdown p99"):
        table.add_column(name, justify="right")
    for kind in summary.kinds:
        latency = kind.latency_from_schedule_us
        table.add_row(kind.kind, f"{kind.functions:,}", f"{kind.calls:,}", f"{kind.failed:,}", _ms(latency["p50"]),
                      _ms(latency["p99"]), _ratio(kind.slowdown_p50), _ratio(kind.slowdown_p99),
                      style="red" if kind.failed else None)
    console.print(table)
