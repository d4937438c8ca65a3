"""loadgen generate: map trace functions to proxies, write mapping.csv and load.json."""

from pathlib import Path
from typing import Annotated

import typer

from loadcore import shipped
from loadcore.console import progress
from loadcore.profiles import read_config
from loadcore.units import Granularity
from loadgen import naming
from loadgen.cli import options
from loadgen.cli.deploy import report_deploy
from loadgen.deploy.step import choose_deploy
from loadgen.generate import GenerateOptions, GenerateResult
from loadgen.generate import generate as run_generate
from loadgen.load import DEFAULT_SEED
from loadgen.mapping import Fallback
from loadgen.synthetic import DEFAULT_MAX_RUNTIME_MS


def generate(
    trace: options.TraceDir = shipped.trace_dir(),
    profile: options.ProfileFile = shipped.default_profile(),
    config: options.ConfigFile = shipped.default_config(),
    output: Annotated[Path, typer.Option(help="load.json to write (vSwarm format).")] = Path("load.json"),
    mapping_out: Annotated[Path, typer.Option(help="Mapping report to write.")] = Path("mapping.csv"),
    granularity: options.UnitOfCounts = Granularity.minute,
    start: options.StartColumn = 0,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up units, written first.")] = 2,
    duration: options.MeasuredUnits = 20,
    iat: Annotated[options.Iat, typer.Option(help="Call times within a unit (see loadgen/load.py) [default: trace for a per-invocation trace, else exponential].", show_default=False)] = None,
    shift: Annotated[bool, typer.Option(help="Rotate each function's calls by a random phase.")] = True,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed, same load.json.")] = DEFAULT_SEED,
    unique: Annotated[bool, typer.Option(help="Minimise total distance, each proxy used ceil(n/m) times at most.")] = False,
    percentile: Annotated[options.Percentile, typer.Option(help="Memory/duration percentile to match.")] = options.Percentile("75"),
    synthetic: options.SyntheticMode = options.Synthetic("fallback"),
    fallback_rule: options.FallbackRuleOption = options.FallbackRule("distance"),
    max_distance: options.MaxDistance = 1.0,
    max_runtime_ms: options.MaxRuntime = DEFAULT_MAX_RUNTIME_MS,
    strict: Annotated[bool, typer.Option(help="Fail on functions missing from durations or memory.")] = False,
    trace_format: options.Format = None,
    day: options.Day = None,
    memory_day: options.MemoryDay = None,
    memory_mb: options.MemoryMb = None,
    rate_scale: options.RateScale = 1.0,
    deploy: Annotated[options.DeployTarget, typer.Option(help="Where the proxies run (none: placeholder endpoints; local: the emulator; knative: a cluster).")] = options.DeployTarget("none"),
    namespace: options.Namespace = naming.DEFAULT_NAMESPACE,
    domain: Annotated[str, typer.Option(help="Domain of the endpoints.")] = naming.DEFAULT_DOMAIN,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    yaml_dir: options.YamlDir = None,
    share_proxies: Annotated[bool, typer.Option(help="knative: one Service per proxy instead of per trace function.")] = False,
    min_scale: Annotated[int, typer.Option(min=0, help="knative: autoscaling.knative.dev/min-scale.")] = None,
    max_scale: Annotated[int, typer.Option(min=0, help="knative: autoscaling.knative.dev/max-scale.")] = None,
    ready_timeout: options.ReadyTimeout = None,
    concurrency: Annotated[int, typer.Option(min=1, help="knative: Services applied at once [default: 8].")] = None,
    allow_commands: Annotated[bool, typer.Option(help="knative: run config.json commands other than `kubectl apply -f`.")] = False,
    allow_outside_yaml_dir: Annotated[bool, typer.Option(help="knative: apply manifests that profile.json or config.json name outside --yaml-dir.")] = False,
    request_timeout: options.RequestTimeout = None,
    dry_run: Annotated[Path, typer.Option(help="knative: write the rendered manifests to this folder, touch no cluster.")] = None,
    run_id: Annotated[str, typer.Option(help="knative: run id label [default: UTC date-time].")] = None,
    synthetic_image: options.SyntheticImage = None,
) -> None:
    """Map trace functions to proxies and write mapping.csv and load.json."""
    chosen = GenerateOptions(
        trace_dir=trace, profile=profile, output=output, mapping_out=mapping_out, granularity=granularity.value,
        start=start, warmup=warmup, duration=duration, iat=iat.value if iat else None, shift=shift, seed=seed,
        unique=unique, percentile=int(percentile.value), fallback=Fallback(synthetic.value, fallback_rule.value, max_distance),
        max_runtime_ms=max_runtime_ms, strict=strict,
        trace_choices=options.trace_choices(trace_format, day, memory_day, memory_mb), rate_scale=rate_scale,
    )  # fmt: skip
    commands = read_config(config)  # once: --config may be a pipe
    with progress() as bar:
        step = choose_deploy(
            deploy.value, commands, config, namespace, domain, share_proxies, bar, kubeconfig=kubeconfig,
            context=context, yaml_dir=yaml_dir, min_scale=min_scale, max_scale=max_scale, ready_timeout=ready_timeout,
            concurrency=concurrency, allow_commands=allow_commands, allow_outside_yaml_dir=allow_outside_yaml_dir,
            dry_run=dry_run, run_id=run_id, request_timeout=request_timeout, synthetic_image=synthetic_image,
        )  # fmt: skip
        task = bar.add_task("load.json", total=warmup + duration)
        result = run_generate(chosen, step, on_unit=lambda: bar.advance(task))
    print_generated(result, deploy.value)
    report_deploy(step, mapping_out, output)
    if deploy.value == "local":
        typer.echo(
            f"local endpoints: serve them with `invoker emulate {mapping_out} --port 50051` and replay with "
            f"`invoker replay {output} --ingress 127.0.0.1:50051` (or run both: `loadgen run`)"
        )


def print_generated(result: GenerateResult, deploy: str) -> None:
    """What generate did: its warnings on stderr, then the trace, the mapping and load.json."""
    o = result.options
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    unit = result.trace.granularity
    typer.echo(f"trace: {len(result.mapping)} functions x {len(result.trace.units)} {unit}s from {result.trace.source}")
    for note in result.trace.notes():
        typer.echo(f"trace: {note}")
    if o.rate_scale != 1:
        typer.echo(
            f"rate scale {o.rate_scale:g}: {result.load.invocations:,} calls for the trace's {result.trace_calls:,} "
            f"in the window (seed {o.seed}, stochastic rounding per function and {unit})"
        )
    typer.echo(
        f"mapping (p{o.percentile}, {'unique' if o.unique else 'closest'}, synthetic {o.fallback.mode}): {result.summary}"
    )
    typer.echo(f"wrote {o.mapping_out} (deploy {deploy})")
    typer.echo(
        f"wrote {o.output}: {result.load.units} {unit}{'s' if result.load.units != 1 else ''} (columns {result.first_column}-{result.last_column}, "
        f"{o.warmup} warm-up), {result.load.invocations} invocations{_synthetic_calls(result)}, busiest {unit} "
        f"{result.load.busiest_unit}; iat {result.iat}{'' if result.iat == 'trace' else ', shift' if o.shift else ', no shift'}, "
        f"seed {o.seed}"
    )


def _synthetic_calls(result: GenerateResult) -> str:
    """`(N to synthetic functions, runtime up to X ms)` when load.json has any."""
    calls = result.load.payload_calls.get("runtime_ms")
    if not calls:
        return ""
    return f" ({calls} to synthetic functions, runtime up to {result.load.payload_max['runtime_ms']:,} ms)"
