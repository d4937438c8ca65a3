"""`--deploy knative`: one Knative Service per target, its dependencies once, readiness watched.

The order is chosen so that nothing touches the cluster before every input is checked:
1. `plan()` reads and renders every manifest and dependency file, and refuses commands
   that are not `kubectl apply -f FILE` unless `allow_commands` (all local, no cluster);
2. `--dry-run DIR` stops here and writes the rendered objects to DIR;
3. `deploy_knative()` connects, checks Knative is installed and that no Service to create
   collides with one loadgen does not manage, runs the pre-deployment steps once (in
   config order, deduplicated), applies the Services with bounded concurrency, watches them
   until settled or `ready_timeout`, then runs the post-deployment steps once.
"""

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from loadcore import shipped
from loadgen.deploy import manifests, objects, services
from loadgen.deploy.cluster import FUNCTION, MANAGED_BY, MANAGER, PROXY, REQUEST_TIMEOUT, RUN_ID, check_run_id, connect
from loadgen.deploy.manifests import ApplyFile, Command
from loadgen.deploy.services import Outcome
from loadcore.errors import InputError
from loadcore.files import output_folder, write_output
from loadcore.units import check_seconds
from loadcore.profiles import DeployCommands

DRY_RUN = "dry-run"


def new_run_id() -> str:
    """A label-safe id for one deployment, e.g. `20260122-0415`: UTC time to the second."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


@dataclass
class KnativeOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "default"
    yaml_dir: Path = field(default_factory=shipped.profiles_dir)
    run_id: str = field(default_factory=new_run_id)
    min_scale: int | None = None
    max_scale: int | None = None
    ready_timeout: float = 600.0
    concurrency: int = 8
    allow_commands: bool = False
    allow_outside_yaml_dir: bool = False
    dry_run: Path | None = None
    synthetic_image: str | None = None
    request_timeout: float = REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        check_run_id(self.run_id)
        check_seconds("--ready-timeout", self.ready_timeout)


@dataclass(frozen=True)
class Target:
    """One Service to deploy: its name, its proxy, and the trace function label (None if shared);
    a synthetic function's also has its memory request (`manifests.synthetic_memory_request`)."""

    service: str
    proxy: str
    function: str | None = None
    memory_request: str | None = None


@dataclass
class Plan:
    services: list[dict]
    pre: list[ApplyFile | Command]
    post: list[ApplyFile | Command]
    files: dict[Path, list[dict]]  # rendered objects of every ApplyFile


def _steps(commands: tuple[str, ...], options: KnativeOptions, where: str, into: list) -> None:
    for text in commands:
        step = manifests.parse_command(text, Path(options.yaml_dir), where, options.allow_outside_yaml_dir)
        if isinstance(step, Command) and not options.allow_commands:
            raise InputError(
                f"{where}: command {text!r} is not `kubectl apply -f FILE`; pass --allow-commands to run it"
            )
        if step not in into:
            into.append(step)


def plan(
    targets: list[Target],
    proxy_yaml: dict[str, str],
    commands: dict[str, DeployCommands],
    options: KnativeOptions,
    config_path: str = "config.json",
) -> Plan:
    """Render every Service and dependency for `targets`; no cluster is touched.

    `proxy_yaml` maps a proxy to its manifest path (profile.json `yaml`); `commands` is
    `loadcore.profiles.read_config()`: deployment commands by `yaml-location`.
    """
    yaml_dir = Path(options.yaml_dir)
    loaded: dict[str, dict] = {}
    rendered, pre, post = [], [], []
    for target in targets:
        if target.proxy not in proxy_yaml:
            raise InputError(f"proxy {target.proxy!r} of service {target.service} has no profile entry")
        location = proxy_yaml[target.proxy]
        if location not in loaded:
            loaded[location] = manifests.load_service(
                manifests.resolve(yaml_dir, location, f"profile {target.proxy}: yaml", options.allow_outside_yaml_dir)
            )
            recipe = commands.get(location, DeployCommands())
            where = f"{config_path}: entry {location}"
            _steps(recipe.pre, options, f"{where}: predeployment-commands", pre)
            _steps(recipe.post, options, f"{where}: postdeployment-commands", post)
        labels = {MANAGED_BY: MANAGER, RUN_ID: options.run_id, PROXY: target.proxy}
        if target.function:
            labels[FUNCTION] = target.function
        service = manifests.render_service(
            loaded[location], target.service, options.namespace, labels, options.min_scale, options.max_scale
        )
        if target.memory_request is not None:
            manifests.fit_synthetic(service, target.memory_request, options.synthetic_image, location)
        rendered.append(service)
    labels = {MANAGED_BY: MANAGER, RUN_ID: options.run_id}
    files = {}
    for step in pre + post:
        if isinstance(step, ApplyFile) and step.path not in files:
            docs = manifests.load_documents(step.path)
            objects.check_kinds(docs, str(step.path))
            files[step.path] = [manifests.render_object(d, options.namespace, labels) for d in docs]
    return Plan(rendered, pre, post, files)


def write_dry_run(plan_: Plan, folder: Path) -> list[Path]:
    """Write each Service to `<name>.yaml` and the dependency objects to `dependencies.yaml`."""
    folder = output_folder(folder)
    written = [write_output(folder / f"{s['metadata']['name']}.yaml", yaml.safe_dump(s, sort_keys=False).encode())
               for s in plan_.services]
    dependencies = [obj for objs in plan_.files.values() for obj in objs]
    if dependencies:
        written.append(write_output(folder / "dependencies.yaml", yaml.safe_dump_all(dependencies, sort_keys=False).encode()))
    others = [s.text for s in plan_.pre + plan_.post if isinstance(s, Command)]
    if others:
        written.append(write_output(folder / "commands.txt", "".join(f"{c}\n" for c in others).encode()))
    return written


def _run_steps(api, steps: list[ApplyFile | Command], plan_: Plan, options: KnativeOptions) -> None:
    for step in steps:
        if isinstance(step, ApplyFile):
            objects.apply_objects(api, plan_.files[step.path], options.namespace)
            continue
        try:
            subprocess.run(step.argv, cwd=options.yaml_dir, check=True, timeout=options.ready_timeout)
        except (OSError, subprocess.SubprocessError) as e:
            raise InputError(f"command {step.text!r} failed: {e}") from None


def deploy_knative(
    targets: list[Target],
    proxy_yaml: dict[str, str],
    commands: dict[str, DeployCommands],
    options: KnativeOptions,
    advance=None,
    config_path: str = "config.json",
) -> dict[str, Outcome]:
    """Deploy `targets` and return each service's outcome (`ready`, `failed: <reason>`).

    With `options.dry_run` the rendered objects are written there instead and every outcome
    is `dry-run`.  `advance()` is called once per applied and once per settled Service.
    """
    plan_ = plan(targets, proxy_yaml, commands, options, config_path)
    if options.dry_run is not None:
        write_dry_run(plan_, Path(options.dry_run))
        return {s["metadata"]["name"]: Outcome(DRY_RUN) for s in plan_.services}
    api = connect(options.kubeconfig, options.context, options.request_timeout)
    with api:
        existing = services.existing_services(api, options.namespace)
        services.check_conflicts(plan_.services, existing, options.namespace)
        _run_steps(api, plan_.pre, plan_, options)
        services.apply_services(api, plan_.services, options.namespace, options.concurrency, advance)
        names = {s["metadata"]["name"] for s in plan_.services}
        outcomes = services.wait_ready(api, options.namespace, names, options.run_id, options.ready_timeout, advance)
        _run_steps(api, plan_.post, plan_, options)
    return outcomes
