"""Knative Services through the API: apply them concurrently, then watch until each is settled.

A Service is settled when its `status.observedGeneration` equals `metadata.generation` and
its `Ready` condition is `True` (ready: the endpoint is the host of `status.url`) or `False`
(failed, with the condition's reason).  Whatever is not settled when the global deadline
passes is `failed: timeout`.  One watch on the namespace, selected by run id, serves every Service.
"""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlparse

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from loadgen.deploy.cluster import (
    FIELD_MANAGER,
    KNATIVE_GROUP,
    KNATIVE_PLURAL,
    KNATIVE_VERSION,
    RUN_ID,
    api_errors,
    is_managed,
)
from loadcore.errors import InputError

READY, TIMEOUT = "ready", "failed: timeout"


@dataclass(frozen=True)
class Outcome:
    """How one Service ended: `status` is `ready`, `failed: <reason>` or `failed: timeout`."""

    status: str
    endpoint: str = ""
    message: str = ""


def _custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def existing_services(api: client.ApiClient, namespace: str) -> dict[str, dict]:
    """Labels of every Knative Service in `namespace`; a clear error if Knative or the namespace is missing."""
    with api_errors(api, f"reading namespace {namespace}"):
        try:
            client.CoreV1Api(api).read_namespace(namespace)
        except ApiException as e:
            if e.status != 404:
                raise
            raise InputError(f"namespace {namespace} does not exist: create it or choose another --namespace") from None
    with api_errors(api, f"listing Knative Services in namespace {namespace}"):
        try:
            items = _custom(api).list_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL
            )["items"]
        except ApiException as e:
            if e.status != 404:
                raise
            raise InputError(
                f"Knative Serving is not installed on this cluster: the API has no "
                f"{KNATIVE_PLURAL}.{KNATIVE_GROUP}/{KNATIVE_VERSION} (install Knative Serving first)"
            ) from None
    return {i["metadata"]["name"]: i["metadata"].get("labels") or {} for i in items}


def check_conflicts(services: list[dict], existing: dict[str, dict], namespace: str) -> None:
    """Refuse to overwrite a Service of the same name that loadgen did not create."""
    foreign = [s["metadata"]["name"] for s in services if s["metadata"]["name"] in existing
               and not is_managed(existing[s["metadata"]["name"]])]
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise InputError(
            f"Knative Service {namespace}/{foreign[0]}{more} already exists and is not managed by loadgen; "
            f"delete it or deploy to another --namespace"
        )


def apply_services(api: client.ApiClient, services: list[dict], namespace: str, concurrency: int, advance=None) -> None:
    """Server-side apply every Service, `concurrency` requests at a time."""
    custom = _custom(api)

    def apply(service: dict) -> None:
        name = service["metadata"]["name"]
        with api_errors(api, f"applying Knative Service {namespace}/{name}"):
            custom.patch_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL, name, service,
                field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml",
            )
        if advance:
            advance()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for future in [pool.submit(apply, s) for s in services]:
            future.result()


def settled(obj: dict) -> Outcome | None:
    """The outcome a Service's status shows for its current spec, or None while in progress."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    ready = _ready_condition(obj)
    if ready.get("status") not in ("True", "False"):
        return None
    if ready["status"] == "True":
        host = urlparse(status.get("url") or "").hostname
        return Outcome(READY, host) if host else Outcome("failed: NoURL", "", "Ready but status.url has no host")
    reason = ready.get("reason") or "NotReady"
    return Outcome(f"failed: {reason}", "", ready.get("message") or reason)


def _ready_condition(obj: dict) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})


def _progress_message(obj: dict) -> str:
    ready = _ready_condition(obj)
    return ready.get("message") or ready.get("reason") or "no Ready condition yet"


def wait_ready(
    api: client.ApiClient, namespace: str, names: set[str], run_id: str, timeout: float, advance=None
) -> dict[str, Outcome]:
    """Watch the run's Services until every one in `names` is settled or `timeout` s passed."""
    custom = _custom(api)
    outcomes: dict[str, Outcome] = {}
    last: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    selector = f"{RUN_ID}={run_id}"

    def observe(obj: dict) -> None:
        name = obj["metadata"]["name"]
        if name in names and name not in outcomes:
            outcome = settled(obj)
            if outcome:
                outcomes[name] = outcome
                if advance:
                    advance()
            else:
                last[name] = _progress_message(obj)

    with api_errors(api, f"watching Knative Services in namespace {namespace}"):
        while len(outcomes) < len(names) and time.monotonic() < deadline:
            listing = custom.list_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL, label_selector=selector,
            )
            for obj in listing["items"]:
                observe(obj)
            version = listing["metadata"]["resourceVersion"]
            while len(outcomes) < len(names):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                stream = watch.Watch()
                try:
                    for event in stream.stream(
                        custom.list_namespaced_custom_object, KNATIVE_GROUP, KNATIVE_VERSION, namespace,
                        KNATIVE_PLURAL, label_selector=selector, resource_version=version,
                        timeout_seconds=max(1, math.ceil(remaining)), _request_timeout=remaining + 10,
                    ):
                        if time.monotonic() >= deadline:
                            break
                        if event["type"] == "ERROR":
                            raise ApiException(status=event["raw_object"].get("code", 500))
                        version = event["object"]["metadata"]["resourceVersion"]
                        observe(event["object"])
                        if len(outcomes) == len(names):
                            break
                except ApiException as e:
                    if e.status != 410:  # 410 Gone: the version expired, list again
                        raise
                    break
                finally:
                    stream.stop()
    for name in names - outcomes.keys():
        outcomes[name] = Outcome(TIMEOUT, "", f"not ready after {timeout:g} s: {last.get(name, 'no status yet')}")
    return outcomes
