"""The deploy step of `loadgen generate` (`loadgen.generate.Deploy`): fill each mapping row's
`endpoint` and `status` for the chosen target.

- `knative`: `KnativeDeploy` creates one Service per trace function (or, with
  `share_proxies`, one per proxy, named `<proxy>-<id>` with a fixed id) and writes
  `ready` + the host of `status.url`, or `failed: <reason>` (`failed: timeout` when not
  ready by the deadline) with an empty endpoint.  With a dry run every row is `planned`
  with the endpoint the Service would get.  `failures` then lists what failed and why.
- `local`: `placeholder_deploy(..., READY)` gives each function the same `<service>.<namespace>.<domain>`
  host a cluster would, status `ready`: `invoker emulate mapping.csv` serves exactly these
  hosts, reached with `invoker replay --ingress 127.0.0.1:PORT` (the host travels as the
  call's :authority, so nothing needs to resolve).

With `share_proxies` the `service` column keeps each function's own name (it identifies the
function); only the endpoint is the shared Service's.  Synthetic functions always get a Service
each, from the synthetic manifest (`manifests.SYNTHETIC_MANIFEST`), sized from their own trace
memory and labelled `loadgen.dev/proxy=trace-func`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loadcore import names
from loadcore.errors import InputError
from loadgen import naming

if TYPE_CHECKING:  # pandas and the Kubernetes client take a second to import: only when deploying
    import pandas as pd

    from loadcore.profiles import DeployCommands
    from loadgen.deploy.knative import KnativeOptions
    from loadgen.generate import Deploy

#: The "trace function" every shared Service is named after: `naming.service_name(proxy, *SHARED)`.
SHARED = ("loadgen", "shared", "proxy")


@dataclass
class Failure:
    service: str
    status: str
    message: str
    functions: int  # trace functions served by this Service


@dataclass
class KnativeDeploy:
    """`--deploy knative` as a mapping step; after the call, `failures` names every failed Service."""

    commands: dict[str, DeployCommands]  # config.json, read once by the caller
    config: Path  # where `commands` came from, for messages
    options: KnativeOptions
    share_proxies: bool = False
    domain: str = naming.DEFAULT_DOMAIN
    bar: object = None
    failures: list[Failure] = field(default_factory=list)

    def __call__(self, mapping: pd.DataFrame, functions: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        from loadgen.deploy.knative import DRY_RUN, Target, deploy_knative
        from loadgen.deploy.manifests import SYNTHETIC_MANIFEST, synthetic_memory_request
        from loadgen.mapping import SYNTHETIC_FUNCTION
        from loadgen.traces.model import MEMORY_COLUMNS
        from loadcore.mappingfile import KIND_PROXY, KIND_SYNTHETIC, PLANNED, READY

        services = [
            naming.service_name(row.proxy, *SHARED) if self.share_proxies and row.kind == KIND_PROXY else row.service
            for row in mapping.itertuples()
        ]
        targets = {}
        for service, row, p100_mb in zip(services, mapping.itertuples(), functions[MEMORY_COLUMNS[-1]]):
            function_id = naming.function_id(row.HashOwner, row.HashApp, row.HashFunction)
            if row.kind == KIND_SYNTHETIC:
                target = Target(service, SYNTHETIC_FUNCTION, function_id, synthetic_memory_request(p100_mb))
            else:
                target = Target(service, row.proxy, None if self.share_proxies else function_id)
            targets.setdefault(service, target)
        advance = None
        if self.bar is not None:
            task = self.bar.add_task("deploy", total=2 * len(targets))
            advance = lambda: self.bar.advance(task)  # noqa: E731
        outcomes = deploy_knative(
            list(targets.values()),
            {**profiles["yaml"].to_dict(), SYNTHETIC_FUNCTION: SYNTHETIC_MANIFEST},
            self.commands,
            self.options,
            advance,
            config_path=str(self.config),
        )
        served = pd.Series(services).value_counts()
        self.failures = [
            Failure(name, o.status, o.message, int(served[name]))
            for name, o in sorted(outcomes.items())
            if o.status not in (READY, DRY_RUN)
        ]
        if self.options.dry_run is not None:
            endpoints = [naming.placeholder_endpoint(s, self.options.namespace, self.domain) for s in services]
            return mapping.assign(endpoint=endpoints, status=PLANNED)
        return mapping.assign(
            endpoint=[outcomes[s].endpoint for s in services], status=[outcomes[s].status for s in services]
        )


TARGETS = ("none", "local", "knative")
SERVING_TARGETS = ("local", "knative")
"""The targets whose endpoints answer calls (`loadgen run` needs one)."""


def deploy_failures(step) -> list[Failure]:
    """The Services a deploy step failed to make ready (none for the placeholder steps)."""
    return step.failures if isinstance(step, KnativeDeploy) else []


def choose_deploy(
    target: str,
    commands: dict[str, DeployCommands],
    config: Path,
    namespace: str = naming.DEFAULT_NAMESPACE,
    domain: str = naming.DEFAULT_DOMAIN,
    share_proxies: bool = False,
    bar=None,
    **knative,
) -> Deploy:
    """The deploy step for `target` (`none`, `local` or `knative`); `commands` are config.json's
    (`loadcore.profiles.read_config(config)`); `knative` holds the `KnativeOptions` fields given
    (None means the default) and is refused for other targets."""
    if not names.is_host_name(domain) or domain.startswith("["):
        raise InputError(f"--domain {domain!r}: expected a host name (letters, digits, '-' and '.'; no scheme, "
                         f"port or spaces)")
    if not names.is_namespace(namespace):
        raise InputError(f"--namespace {namespace!r}: expected a Kubernetes namespace name (at most 63 lower-case "
                         f"letters, digits and '-', starting and ending with a letter or digit)")
    given = {key: value for key, value in knative.items() if value not in (None, False)}
    if target != "knative" and (given or share_proxies):
        options = ", ".join(f"--{key.replace('_', '-')}" for key in [*given, *(["share_proxies"] if share_proxies else [])])
        raise InputError(f"{options}: only with --deploy knative, not --deploy {target}")
    if target in ("none", "local"):
        from loadgen.generate import placeholder_deploy
        from loadcore.mappingfile import PLANNED, READY

        return placeholder_deploy(namespace, domain, PLANNED if target == "none" else READY)
    from loadgen.deploy.knative import KnativeOptions

    return KnativeDeploy(commands, config, KnativeOptions(namespace=namespace, **given), share_proxies, domain, bar)
