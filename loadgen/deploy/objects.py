"""Dependency objects (databases and caches the proxies need) and teardown of what loadgen made.

`kubectl apply -f FILE` pre-deployment commands are carried out by server-side applying
FILE's objects through the dynamic client, once per run.  Only the kinds in
`DEPENDENCY_KINDS` are accepted, because those are exactly the kinds `teardown` looks for:
whatever loadgen can create, it can find again by label and delete.
"""

import urllib3
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from loadgen.deploy.cluster import (
    FIELD_MANAGER,
    KNATIVE_GROUP,
    KNATIVE_VERSION,
    api_errors,
    connect,
    is_managed,
    managed_selector,
)
from loadcore.errors import InputError

DEPENDENCY_KINDS = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("batch/v1", "Job"),
)
KNATIVE_SERVICE = (f"{KNATIVE_GROUP}/{KNATIVE_VERSION}", "Service")


def check_kinds(objects: list[dict], source: str) -> None:
    """Refuse kinds teardown would not find again."""
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) not in DEPENDENCY_KINDS:
            allowed = ", ".join(f"{v}/{k}" for v, k in DEPENDENCY_KINDS)
            raise InputError(
                f"{source}: {obj['apiVersion']}/{obj['kind']} {obj['metadata']['name']} is not a supported "
                f"dependency kind (supported: {allowed})"
            )


def _dynamic(api: client.ApiClient) -> DynamicClient:
    """A dynamic client; its constructor already asks the server which resources it serves."""
    with api_errors(api, "discovering the API server's resources"):
        try:
            return DynamicClient(api)
        except ValueError as e:  # discovery's guess ("should start with https://") for a dropped connection
            if isinstance(e.__context__, urllib3.exceptions.HTTPError):
                raise e.__context__ from None
            raise


def apply_objects(api: client.ApiClient, objects: list[dict], namespace: str) -> None:
    """Server-side apply rendered dependency objects, refusing to take over unmanaged ones."""
    dynamic = _dynamic(api)
    for obj in objects:
        name = obj["metadata"]["name"]
        what = f"applying {obj['kind']} {namespace}/{name}"
        with api_errors(api, what):
            resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            existing = dynamic.get(
                resource, namespace=namespace, field_selector=f"metadata.name={name}"
            ).to_dict()["items"]
            if existing and not is_managed(existing[0]["metadata"].get("labels")):
                raise InputError(f"{obj['kind']} {namespace}/{name} already exists and is not managed by loadgen")
            dynamic.server_side_apply(
                resource, body=obj, namespace=namespace, field_manager=FIELD_MANAGER, force_conflicts=True,
            )


def teardown(namespaces: list[str] | None, run_id: str | None = None, kubeconfig: str | None = None,
             context: str | None = None, request_timeout: float | None = None) -> list[tuple[str, str, str]]:
    """Connect and `delete_managed` (`loadgen teardown`)."""
    with connect(kubeconfig, context, request_timeout) as api:
        return delete_managed(api, namespaces, run_id)


def delete_managed(
    api: client.ApiClient, namespaces: list[str] | None, run_id: str | None = None
) -> list[tuple[str, str, str]]:
    """Delete every object labelled managed-by=loadgen (and run_id), in `namespaces` or all.

    Returns (kind, namespace, name) of each deleted object, the kind kubectl-style
    (`Service.serving.knative.dev`, `Deployment.apps`, `Service`); kinds the server does not serve
    (Knative not installed, no StatefulSets) are skipped.
    """
    selector = managed_selector(run_id)
    dynamic = _dynamic(api)
    deleted = []
    for api_version, kind in (KNATIVE_SERVICE, *DEPENDENCY_KINDS):
        with api_errors(api, f"listing {kind} objects to delete"):
            try:
                resource = dynamic.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                continue
            scopes = namespaces if namespaces is not None else [None]
            items = [
                i for ns in scopes
                for i in dynamic.get(resource, namespace=ns, label_selector=selector).items
            ]
        for item in items:
            ns, name = item.metadata.namespace, item.metadata.name
            with api_errors(api, f"deleting {kind} {ns}/{name}"):
                try:
                    dynamic.delete(
                        resource, name=name, namespace=ns, body={"propagationPolicy": "Background"},
                    )
                except client.exceptions.ApiException as e:
                    if e.status != 404:  # already gone: someone else deleted it meanwhile
                        raise
            deleted.append((f"{kind}.{api_version.split('/')[0]}" if "/" in api_version else kind, ns, name))
    return deleted
