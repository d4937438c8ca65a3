"""`loadgen run`: generate + deploy + invoke + report in one command (`loadgen.pipeline`).

The defaults (shipped trace and profiles, one minute, no warm-up, the local emulator) make a
one-minute smoke test; `--deploy knative` with a longer `--duration` and `--warmup` is a real
experiment.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TextColumn

from loadcore import shipped
from loadcore.console import progress
from loadcore.units import Granularity
from loadgen import naming
from loadgen.cli import options
from loadgen.cli.deploy import report_deploy
from loadgen.cli.generate import print_generated
from loadgen.cli.report import print_report
from loadgen.generate import GenerateOptions
from loadgen.load import DEFAULT_SEED
from loadgen.mapping import Fallback
from loadgen.synthetic import DEFAULT_MAX_RUNTIME_MS


def run(
    trace: options.TraceDir = shipped.trace_dir(),
    profile: options.ProfileFile = shipped.default_profile(),
    config: options.ConfigFile = shipped.default_config(),
    out: Annotated[Path, typer.Option(help="Folder for mapping.csv, load.json, latency.csv and report/.")] = Path("loadgen-run"),
    deploy: Annotated[options.RunTarget, typer.Option(help="local: the emulator on 127.0.0.1; knative: a cluster.")] = options.RunTarget("local"),
    granularity: options.UnitOfCounts = Granularity.minute,
    start: options.StartColumn = 0,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up units (not measured).")] = 0,
    duration: options.MeasuredUnits = 1,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of load.json.")] = DEFAULT_SEED,
    trace_format: options.Format = None,
    day: options.Day = None,
    memory_day: options.MemoryDay = None,
    memory_mb: options.MemoryMb = None,
    rate_scale: options.RateScale = 1.0,
    synthetic: options.SyntheticMode = options.Synthetic("fallback"),
    fallback_rule: options.FallbackRuleOption = options.FallbackRule("distance"),
    max_distance: options.MaxDistance = 1.0,
    max_runtime_ms: options.MaxRuntime = DEFAULT_MAX_RUNTIME_MS,
    namespace: options.Namespace = naming.DEFAULT_NAMESPACE,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    yaml_dir: options.YamlDir = None,
    ready_timeout: options.ReadyTimeout = None,
    synthetic_image: options.SyntheticImage = None,
    ingress: Annotated[str, typer.Option(help="knative: HOST:PORT to send every call to, the endpoint as :authority.")] = None,
    port: Annotated[int, typer.Option(help="knative: port of the endpoints when no --ingress.")] = 80,
    timeout: Annotated[float, typer.Option(help="Per-call deadline in seconds [default: 30, beyond the longest synthetic runtime].")] = None,
    processes: Annotated[int, typer.Option(help="Invoker processes (one core each; at most 4 per CPU).")] = 1,
) -> None:
    """Generate, deploy, invoke and summarise in one command (default: a one-minute local run)."""
    from loadgen.pipeline import ExperimentOptions, run_experiment  # the invoker library: only for this command

    chosen = ExperimentOptions(
        generate=GenerateOptions(trace_dir=trace, profile=profile, granularity=granularity.value, start=start,
                                 warmup=warmup, duration=duration, seed=seed, rate_scale=rate_scale,
                                 trace_choices=options.trace_choices(trace_format, day, memory_day, memory_mb),
                                 fallback=Fallback(synthetic.value, fallback_rule.value, max_distance),
                                 max_runtime_ms=max_runtime_ms),
        out=out, deploy=deploy.value, config=config, namespace=namespace, kubeconfig=kubeconfig, context=context,
        yaml_dir=yaml_dir, ready_timeout=ready_timeout, synthetic_image=synthetic_image, ingress=ingress, port=port,
        timeout=timeout, processes=processes,
    )  # fmt: skip
    with progress(*_REPLAY_COLUMNS) as bar:
        result = run_experiment(chosen, _Printer(bar, deploy.value))
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.report is None:
        return
    if result.files.scaling.exists():
        rows = len(result.files.scaling.read_bytes().splitlines()) - 1
        typer.echo(f"wrote {result.files.scaling}: {rows:,} rows of instance counts")
    print_report(result.report)
    observation = result.observation
    if observation is not None:
        for warning in observation.warnings + ([observation.failure] if observation.failure else []):
            typer.echo(f"warning: {warning}", err=True)
    outcome = result.replay
    problems = [problem for problem in (outcome.write_error, *outcome.worker_failures) if problem]
    for problem in problems:
        typer.echo(f"Error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    if outcome.signal is not None:
        typer.echo("stopped early: the report covers the calls issued until then", err=True)
        raise typer.Exit(128 + outcome.signal)


_REPLAY_COLUMNS = (
    TextColumn("{task.fields[issued]}"),
    TextColumn("{task.fields[in_flight]}"),
    TextColumn("{task.fields[errors]}"),
)


class _Printer:
    """Prints each stage's outcome as `loadgen generate` and `invoker replay` would, and stands
    in for the progress bar, so that every task has the replay columns' fields."""

    def __init__(self, bar, deploy: str) -> None:
        self._bar, self.deploy, self.task = bar, deploy, None
        self.bar = self
        self.advance, self.update = bar.advance, bar.update

    def add_task(self, description: str, **fields):
        return self._bar.add_task(description, issued="", in_flight="", errors="", **fields)

    def generated(self, result, deploy_step) -> None:
        print_generated(result, self.deploy)
        report_deploy(deploy_step, result.options.mapping_out, result.options.output)

    def replaying(self, where: str) -> None:
        typer.echo(f"invoking through {where}")
        self.task = self.add_task("units", total=None)

    def replay_progress(self, p) -> None:
        self.update(self.task, completed=p.unit, total=p.units, issued=f"{p.issued:,} issued",
                        in_flight=f"{p.in_flight:,} in flight", errors=f"{p.errors:,} errors")

    def replayed(self, outcome, results: Path) -> None:
        typer.echo(f"wrote {results}: {outcome.rows_written:,} calls")
        for warning in outcome.warnings:
            typer.echo(f"warning: {warning}", err=True)
