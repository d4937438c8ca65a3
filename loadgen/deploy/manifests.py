"""Proxy manifests: find a proxy's YAML, render its Knative Service, read its dependencies.

Paths in `profile.json` (`yaml`) and `config.json` (`yaml-location`, and the files named
by `kubectl apply -f FILE` pre-deployment commands) are relative to the profiles folder
(`--yaml-dir`, default the shipped `profiles/`), never to the current directory, and must
stay inside it once resolved (symbolic links followed): an absolute path, `../` or a link
out of the folder is refused unless `allow_outside` (`--allow-outside-yaml-dir`), so a
profile or config file cannot make loadgen apply a file it was not pointed at.

A manifest's documents must each expand to at most `MAX_OBJECT_BYTES` (the API server's
limit on one request): YAML aliases share one object in memory but are written out in full
when sent, so a few lines of nested aliases (an "alias bomb") would otherwise grow to GBs.

A rendered Service is the proxy's manifest with: `metadata.name` = the service name,
`metadata.namespace` = the target namespace, loadgen's labels on the Service and its
revision template, and the optional `autoscaling.knative.dev/min-scale` / `max-scale`
annotations on the revision template (where Knative reads them).  Nothing else changes,
except for synthetic functions (`fit_synthetic`).

Synthetic functions all start from one manifest, `SYNTHETIC_MANIFEST` under the profiles
folder (invitro's trace-func-go template); each one's Service then gets the memory request
invitro derives from the trace, its p100 memory / 10 (`synthetic_memory_request`), and
optionally another image (`--synthetic-image`).
"""

import copy
import math
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from loadcore import names
from loadcore.errors import InputError
from loadcore.files import read_input

SYNTHETIC_MANIFEST = "./yamls/trace-func/kn-trace-func-go.yaml"
MEMORY_REQUEST_SHARE = 10
#: The Kubernetes API server's default limit on one request body (3 MiB).
MAX_OBJECT_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class ApplyFile:
    """A `kubectl apply -f FILE` command, carried out through the API."""

    path: Path


@dataclass(frozen=True)
class Command:
    """Any other command: run as an argument list, only with --allow-commands."""

    argv: tuple[str, ...]
    text: str


def resolve(yaml_dir: Path, relative: str, where: str, allow_outside: bool = False) -> Path:
    """`relative` (e.g. `./yamls/aes-go/kn-aes-go.yaml`) under `yaml_dir`; it must exist and,
    unless `allow_outside`, lie inside `yaml_dir` once resolved."""
    path = (Path(yaml_dir) / relative).resolve()
    if not allow_outside and not path.is_relative_to(Path(yaml_dir).resolve()):
        raise InputError(
            f"{where}: {relative} is outside --yaml-dir {yaml_dir}; pass --allow-outside-yaml-dir to use it"
        )
    if not path.is_file():
        raise InputError(f"{where}: manifest {relative} not found under --yaml-dir {yaml_dir}")
    return path


def load_documents(path: Path) -> list[dict]:
    """The non-empty YAML documents of `path`, each a Kubernetes object."""
    try:
        documents = [d for d in yaml.safe_load_all(read_input(path)) if d is not None]
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not readable YAML: {str(e).splitlines()[0]}") from None
    for i, doc in enumerate(documents, 1):
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= doc.keys():
            raise InputError(f"{path}: document {i} is not a Kubernetes object (apiVersion, kind, metadata)")
        if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("name"):
            raise InputError(f"{path}: document {i} has no metadata.name")
        if _expands_beyond(doc, MAX_OBJECT_BYTES):
            raise InputError(
                f"{path}: document {i} expands to more than {MAX_OBJECT_BYTES // 2**20} MiB once its YAML aliases "
                f"are written out, the most the API server takes in one object"
            )
    return documents


def _expands_beyond(document, limit: int) -> bool:
    """Whether `document` written out (aliases repeated in full) takes more than about `limit`
    bytes; counts at most `limit` nodes, so an alias bomb is found without expanding it."""
    size, pending = 0, [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            children = ()
            size += len(str(node))
        size += 2 + len(children)
        if size > limit:
            return True
        pending.extend(children)
    return False


def load_service(path: Path) -> dict:
    """The one Knative Service (`serving.knative.dev/v1`) in a proxy manifest."""
    documents = load_documents(path)
    if len(documents) != 1 or documents[0]["apiVersion"] != "serving.knative.dev/v1" or documents[0]["kind"] != "Service":
        raise InputError(f"{path}: expected exactly one serving.knative.dev/v1 Service")
    return documents[0]


def check_name(name: str) -> str:
    if not names.is_service_name(name):
        raise InputError(f"service name {name!r} is not a DNS-1035 label of at most {names.MAX_SERVICE_NAME} characters")
    return name


def render_service(
    manifest: dict,
    name: str,
    namespace: str,
    labels: dict[str, str],
    min_scale: int | None = None,
    max_scale: int | None = None,
) -> dict:
    """The Service to apply: `manifest` renamed, moved to `namespace`, labelled, scale-annotated."""
    service = copy.deepcopy(manifest)
    service.pop("status", None)
    service["metadata"] = {
        "name": check_name(name),
        "namespace": namespace,
        "labels": {**(manifest["metadata"].get("labels") or {}), **labels},
        **({"annotations": manifest["metadata"]["annotations"]} if manifest["metadata"].get("annotations") else {}),
    }
    template = service.setdefault("spec", {}).setdefault("template", {})
    meta = template.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    scale = {
        key: str(value)
        for key, value in (("autoscaling.knative.dev/min-scale", min_scale), ("autoscaling.knative.dev/max-scale", max_scale))
        if value is not None
    }
    if scale:
        meta["annotations"] = {**(meta.get("annotations") or {}), **scale}
    return service


def synthetic_memory_request(p100_mb: float) -> str:
    """A synthetic function's memory request: its p100 memory / 10 (invitro), whole MiB, at least 1."""
    return f"{max(1, math.ceil(p100_mb / MEMORY_REQUEST_SHARE))}Mi"


def fit_synthetic(service: dict, memory_request: str, image: str | None, where: str) -> dict:
    """Set the memory request (and the image, if given) of a rendered synthetic function's
    first container, the one that serves `faas.Executor`."""
    containers = ((service.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
    if not containers or not isinstance(containers[0], dict):
        raise InputError(f"{where}: expected a Service with spec.template.spec.containers")
    container = containers[0]
    resources = container.setdefault("resources", {})
    resources["requests"] = {**(resources.get("requests") or {}), "memory": memory_request}
    if image:
        container["image"] = image
    return service


def render_object(obj: dict, namespace: str, labels: dict[str, str]) -> dict:
    """A dependency object (Deployment, Service, ...) moved to `namespace` and labelled."""
    rendered = copy.deepcopy(obj)
    rendered.pop("status", None)
    meta = rendered["metadata"]
    rendered["metadata"] = {
        "name": meta["name"],
        "namespace": namespace,
        "labels": {**(meta.get("labels") or {}), **labels},
        **({"annotations": meta["annotations"]} if meta.get("annotations") else {}),
    }
    return rendered


def parse_command(text: str, yaml_dir: Path, where: str, allow_outside: bool = False) -> ApplyFile | Command:
    """`kubectl apply -f FILE` becomes `ApplyFile`; anything else a `Command` argument list."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise InputError(f"{where}: command {text!r} cannot be split into arguments: {e}") from None
    if not argv:
        raise InputError(f"{where}: empty command")
    if len(argv) == 4 and argv[:3] == ["kubectl", "apply", "-f"]:
        return ApplyFile(resolve(yaml_dir, argv[3], where, allow_outside))
    return Command(tuple(argv), text)
