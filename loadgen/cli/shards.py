"""`loadgen shards LOAD_JSON --workers N`: a thin layer over `loadcore.shards`."""

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from loadcore.console import print_data, printable, summary_console
from loadcore.shards import MAX_WORKERS, plan_file


def shards(
    load_json: Path = typer.Argument(..., help="The load.json the workers will replay."),
    workers: int = typer.Option(..., min=1, max=MAX_WORKERS, help="Number of workers (invoker replay --shard I/N)."),
    split_hot: bool = typer.Option(
        False, "--split-hot", help="Spread functions with more calls than an even share over several shards."
    ),
    warmup: int = typer.Option(2, min=0, help="Warm-up units the workers replay (as invoker replay --warmup)."),
    duration: int = typer.Option(20, min=0, help="Measured units the workers replay (as invoker replay --duration)."),
) -> None:
    """Print which worker replays which functions, and the calls of each shard, before a run.

    The assignment is the one every `invoker replay --shard I/N` computes from the same
    load.json, --warmup, --duration and --split-hot.
    """
    load, plan = plan_file(load_json, workers, split_hot, warmup + duration)
    console = summary_console()
    assignment = Table(title="Assignment (busiest function first within a shard)")
    for name, justify in (("function", "left"), ("calls", "right"), ("shard", "left")):
        assignment.add_column(name, justify=justify, overflow="fold")
    calls = plan.calls_by_shard(load)
    for endpoint, on in sorted(calls.items(), key=lambda item: (min(item[1]), -sum(item[1].values()), item[0])):
        where = ", ".join(f"{plan.label(shard)} ({count:,})" for shard, count in on.items()) if len(on) > 1 \
            else plan.label(next(iter(on)))
        assignment.add_row(Text(printable(plan.endpoints[endpoint])), f"{sum(on.values()):,}", Text(where))
    console.print(assignment)
    per_shard = Table(title=Text(printable(f"Shards of {load_json}: {plan.calls:,} calls in {load.units} units")))
    for name in ("shard", "functions", "calls", "share", "busiest unit"):
        per_shard.add_column(name, justify="left" if name == "shard" else "right")
    for shard in range(workers):
        share = plan.shard_calls[shard] / plan.calls if plan.calls else 0.0
        per_shard.add_row(plan.label(shard), f"{plan.shard_functions[shard]:,}", f"{plan.shard_calls[shard]:,}",
                          f"{share:.1%}", f"{plan.shard_busiest_unit[shard]:,}")  # fmt: skip
    console.print(per_shard)
    print_data(console, f"max/mean calls per shard {plan.max_over_mean:.2f} (max {int(plan.shard_calls.max()):,}, "
                        f"mean {plan.mean_calls:,.0f}); functions {'split when too hot' if split_hot else 'kept whole'}")
    note = plan.imbalance()
    if note is not None:
        print_data(summary_console(stderr=True), f"warning: {note}", style="yellow")
