"""`loadgen run`: generate + deploy + invoke + report in one command.

It chains the other commands' own code: `loadgen generate` (with `--deploy local` or
`knative`), then `invoker replay` (through `invoker emulate` on 127.0.0.1 for `local`), then
`loadgen report`.  Every file lands in `--out`: mapping.csv, load.json, latency.csv and
report/ (summary.json and figures).  The defaults (shipped trace and profiles, one minute, no
warm-up) make a one-minute smoke test; `--deploy knative` with a longer `--duration` and
`--warmup` is a real experiment.
"""

import inspect
import io
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadcore import shipped
from loadgen import naming
from loadgen.cli import generate as generate_command
from loadgen.cli import options
from loadgen.cli import report as report_command
from loadcore.errors import InputError
from loadgen.load import DEFAULT_SEED
from loadcore.units import Granularity


class RunTarget(str, Enum):
    local = "local"
    knative = "knative"


def run(
    trace: options.TraceDir = shipped.trace_dir(),
    profile: options.ProfileFile = shipped.default_profile(),
    config: options.ConfigFile = shipped.default_config(),
    out: Annotated[Path, typer.Option(help="Folder for mapping.csv, load.json, latency.csv and report/.")] = Path("loadgen-run"),
    deploy: Annotated[RunTarget, typer.Option(help="local: the emulator on 127.0.0.1; knative: a cluster.")] = RunTarget.local,
    granularity: options.UnitOfCounts = Granularity.minute,
    start: options.StartColumn = 0,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up units (not measured).")] = 0,
    duration: options.MeasuredUnits = 1,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of load.json.")] = DEFAULT_SEED,
    namespace: options.Namespace = naming.DEFAULT_NAMESPACE,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    yaml_dir: options.YamlDir = None,
    ready_timeout: options.ReadyTimeout = None,
    ingress: Annotated[str, typer.Option(help="knative: HOST:PORT to send every call to, the endpoint as :authority.")] = None,
    port: Annotated[int, typer.Option(help="knative: port of the endpoints when no --ingress.")] = 80,
    timeout: Annotated[float, typer.Option(min=0.001, help="Per-call deadline in seconds.")] = 30.0,
    processes: Annotated[int, typer.Option(min=1, help="Invoker processes (one core each).")] = 1,
) -> None:
    """Generate, deploy, invoke and summarise in one command (default: a one-minute local run)."""
    from invoker.dispatch import Target
    from invoker.emulate import emulator_process
    from invoker.replay import ReplayOptions, replay

    if deploy is RunTarget.local and (ingress or kubeconfig or context or yaml_dir or ready_timeout is not None or port != 80):
        raise InputError("--ingress, --port, --kubeconfig, --context, --yaml-dir, --ready-timeout: only with --deploy knative")
    if ingress is not None and ":" not in ingress:
        raise InputError(f"--ingress {ingress!r}: expected HOST:PORT")
    out.mkdir(parents=True, exist_ok=True)
    mapping, load, results = out / "mapping.csv", out / "load.json", out / "latency.csv"
    hint = generate_command.LOCAL_HINT.set(False)
    try:
        _call(
            generate_command.generate,
            trace=trace, profile=profile, config=config, output=load, mapping_out=mapping,
            granularity=granularity, start=start, warmup=warmup, duration=duration, seed=seed,
            deploy=generate_command.DeployTarget(deploy.value), namespace=namespace,
            kubeconfig=kubeconfig, context=context, yaml_dir=yaml_dir, ready_timeout=ready_timeout,
        )  # fmt: skip
    finally:
        generate_command.LOCAL_HINT.reset(hint)

    def replay_to(target: Target):
        # The report below prints the merged summary; replay's own copy would repeat it.
        options = ReplayOptions(load, results, granularity.value, warmup, duration, target, processes=processes)
        return replay(options, Console(file=io.StringIO()))

    if deploy is RunTarget.local:
        with emulator_process(str(mapping), "--profile", str(profile)) as emulator_port:
            typer.echo(f"invoking through the emulator on 127.0.0.1:{emulator_port}")
            outcome = replay_to(Target(ingress=f"127.0.0.1:{emulator_port}", timeout=timeout))
    else:
        outcome = replay_to(Target(port=port, ingress=ingress, timeout=timeout))
    typer.echo(f"wrote {results}: {outcome.rows_written:,} calls")
    _call(
        report_command.report,
        results=[results], load=load, mapping=mapping, warmup=warmup, duration=duration,
        granularity=granularity, output_dir=out / "report",
        file_format=report_command.FileFormat("png"),
    )  # fmt: skip
    if outcome.write_error:
        typer.echo(f"Error: {outcome.write_error}", err=True)
        raise typer.Exit(1)
    if outcome.signal is not None:
        typer.echo("stopped early: the report covers the calls issued until then", err=True)
        raise typer.Exit(128 + outcome.signal)


def _call(command, **given):
    """Call another command's function with `given` and its CLI defaults for everything else,
    so options added to that command later keep their defaults here."""
    defaults = {
        name: getattr(parameter.default, "default", parameter.default)
        for name, parameter in inspect.signature(command).parameters.items()
        if name not in given
    }
    return command(**defaults, **given)
