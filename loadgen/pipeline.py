"""The whole experiment as one library call: generate, deploy, invoke, report (`loadgen run`).

It chains the stages' own library calls: `loadgen.generate` with the `local` or `knative`
deploy step, then `invoker.replay` (through `invoker emulate`, run as a child process on
127.0.0.1, for `local`), then `loadgen.report`. Every file lands in `out`: mapping.csv,
load.json, latency.csv, scaling.csv and report/ (summary.json and figures). scaling.csv comes
from the emulator's scaling model (`local`) or from watching the Services' Pods while the
replay runs (`knative`, `loadgen.observe`). This is the one master-side
module that uses the invoker library. It prints nothing: it tells its caller what happens
through `ExperimentEvents` and returns an `ExperimentResult`.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from invoker.dispatch import Target
from invoker.emulator_process import emulator_process
from invoker.processes import check_processes
from invoker.replay import ReplayOptions, ReplayOutcome, ReplayProgress, replay
from loadcore import shipped
from loadcore.console import SilentProgress
from loadcore.errors import InputError
from loadcore.files import output_folder
from loadcore.profiles import read_config
from loadgen import naming
from loadgen.deploy.step import SERVING_TARGETS, choose_deploy, deploy_failures
from loadgen.generate import GenerateOptions, GenerateResult, generate
from loadgen.observe import ObserveOutcome
from loadgen.report import ReportResult, report

LOCAL = "local"
DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ExperimentOptions:
    """What `loadgen run` takes. `generate` says what to generate (its output paths are
    replaced by files in `out`); the Knative settings apply to `deploy="knative"` only."""

    generate: GenerateOptions = field(default_factory=lambda: GenerateOptions(warmup=0, duration=1))
    out: Path = Path("loadgen-run")
    deploy: str = LOCAL
    config: Path = field(default_factory=shipped.default_config)
    namespace: str = naming.DEFAULT_NAMESPACE
    kubeconfig: str | None = None
    context: str | None = None
    yaml_dir: Path | None = None
    ready_timeout: float | None = None
    synthetic_image: str | None = None
    ingress: str | None = None
    port: int = 80
    timeout: float | None = None
    """Per-call deadline (s); None: `DEFAULT_TIMEOUT_S` beyond the longest runtime a synthetic
    call asks for (`DEFAULT_TIMEOUT_S` alone without synthetic calls)."""
    processes: int = 1


@dataclass(frozen=True)
class ExperimentFiles:
    mapping: Path
    load: Path
    results: Path
    report: Path
    scaling: Path

    @classmethod
    def under(cls, out: Path) -> "ExperimentFiles":
        return cls(out / "mapping.csv", out / "load.json", out / "latency.csv", out / "report", out / "scaling.csv")


@dataclass
class ExperimentResult:
    """What the run did; `replay` and `report` are None when it stopped after a failed deploy;
    `observation` is the pod watch of a knative run (None when the Pods could not be listed:
    `warnings` says why)."""

    files: ExperimentFiles
    generated: GenerateResult
    deploy_step: object
    replay: ReplayOutcome | None = None
    report: ReportResult | None = None
    observation: ObserveOutcome | None = None
    warnings: list[str] = field(default_factory=list)


class ExperimentEvents:
    """What `run_experiment` reports as it goes; override what you want to show."""

    bar = SilentProgress()
    """A progress-bar object (`loadcore.console.progress()`) for generate, deploy and report."""

    def generated(self, result: GenerateResult, deploy_step) -> None:
        """mapping.csv and load.json are written (and the Services deployed, for knative)."""

    def replaying(self, where: str) -> None:
        """The replay starts; `where` says where the calls go."""

    def replay_progress(self, progress: ReplayProgress) -> None:
        """Called a few times a second while the replay runs."""

    def replayed(self, outcome: ReplayOutcome, results: Path) -> None:
        """Every issued call has its row in `results` (latency.csv)."""


def check_options(options: ExperimentOptions) -> Target:
    """Refuse options that do not fit the deploy target; the replay target they describe."""
    if options.deploy not in SERVING_TARGETS:
        raise InputError(f"--deploy {options.deploy!r}: expected one of {', '.join(SERVING_TARGETS)}")
    knative_only = {"--ingress": options.ingress is not None, "--port": options.port != 80,
                    "--kubeconfig": options.kubeconfig is not None, "--context": options.context is not None,
                    "--yaml-dir": options.yaml_dir is not None, "--ready-timeout": options.ready_timeout is not None,
                    "--synthetic-image": options.synthetic_image is not None}
    given = [name for name, set_ in knative_only.items() if set_]
    if options.deploy == LOCAL and given:
        raise InputError(f"{', '.join(given)}: only with --deploy knative")
    check_processes(options.processes)
    timeout = DEFAULT_TIMEOUT_S if options.timeout is None else options.timeout
    return Target.checked(port=options.port, ingress=options.ingress, timeout=timeout)


def run_experiment(options: ExperimentOptions, events: ExperimentEvents | None = None) -> ExperimentResult:
    """Generate, deploy, replay and report; see the module docstring."""
    events = events or ExperimentEvents()
    target = check_options(options)
    files = ExperimentFiles.under(Path(options.out))
    output_folder(options.out)
    chosen = replace(options.generate, output=files.load, mapping_out=files.mapping)
    step = choose_deploy(
        options.deploy, read_config(options.config), options.config, options.namespace, bar=events.bar,
        kubeconfig=options.kubeconfig, context=options.context, yaml_dir=options.yaml_dir,
        ready_timeout=options.ready_timeout, synthetic_image=options.synthetic_image,
    )  # fmt: skip
    task = events.bar.add_task("load.json", total=chosen.warmup + chosen.duration)
    generated = generate(chosen, step, on_unit=lambda: events.bar.advance(task))
    events.generated(generated, step)
    result = ExperimentResult(files, generated, step)
    if deploy_failures(step):
        return result
    if options.timeout is None:
        target = replace(target, timeout=DEFAULT_TIMEOUT_S + generated.load.payload_max.get("runtime_ms", 0) / 1000)
    replay_options = ReplayOptions(files.load, files.results, chosen.granularity, chosen.warmup, chosen.duration,
                                   target, processes=options.processes)
    if options.deploy == LOCAL:
        with emulator_process(str(files.mapping), "--profile", str(chosen.profile), "--scaling-out", str(files.scaling)) as port:
            events.replaying(f"the emulator on 127.0.0.1:{port} (timeout {target.timeout:g} s)")
            local = replace(target, ingress=f"127.0.0.1:{port}")
            result.replay = replay(replace(replay_options, target=local), events.replay_progress)
    else:
        with _watching_pods(step, files.scaling, result):
            where = f"the ingress {target.ingress}" if target.ingress else f"the endpoints' port {target.port}"
            events.replaying(f"{where} (timeout {target.timeout:g} s)")
            result.replay = replay(replay_options, events.replay_progress)
    events.replayed(result.replay, files.results)
    task = events.bar.add_task("reading results", total=files.results.stat().st_size)
    scaling = files.scaling if options.deploy == LOCAL or result.observation is not None else None
    result.report = report(
        [files.results], load=files.load, mapping=files.mapping, warmup=chosen.warmup, duration=chosen.duration,
        granularity=chosen.granularity, output_dir=files.report, scaling=scaling,
        t0_unix_us=result.replay.t0_unix_us, on_progress=lambda done: events.bar.update(task, completed=done),
    )  # fmt: skip
    return result


@contextmanager
def _watching_pods(step, output: Path, result: ExperimentResult):
    """Watch the Pods of the run's Services into `output` while the block runs (`loadgen.observe`);
    a cluster that will not list them leaves a warning, and the replay runs all the same."""
    from loadgen.deploy.cluster import connect
    from loadgen.observe import PodObservation, Selection

    knative = step.options
    with connect(knative.kubeconfig, knative.context, knative.request_timeout) as api:
        observation = PodObservation(api, Selection(knative.namespace, knative.run_id), output)
        try:
            observation.begin()
        except InputError as error:
            observation.close()
            output.unlink()
            result.warnings.append(f"not watching the Pods, so no scaling.csv and no cold starts: {error.message}")
            yield
            return
        result.observation = observation.outcome
        with observation.following():
            yield
