"""Connecting to the Kubernetes API and turning its failures into one-line `InputError`s.

Every call loadgen makes to a cluster goes through `connect()` and runs inside
`api_errors(what)`, so a user sees "cannot reach the API server", "forbidden", "invalid
manifest" or "Knative is not installed" with the server's own message, never a traceback.
"""

import json
import os
from contextlib import contextmanager
from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from loadcore.errors import InputError

#: Labels put on every object loadgen creates; teardown selects on `MANAGED_BY`.
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "loadgen"
RUN_ID = "loadgen.dev/run-id"
FUNCTION = "loadgen.dev/function"
PROXY = "loadgen.dev/proxy"
#: Server-side-apply field manager, so re-runs update the same fields of the same objects.
FIELD_MANAGER = "loadgen"

KNATIVE_GROUP, KNATIVE_VERSION, KNATIVE_PLURAL = "serving.knative.dev", "v1", "services"
#: Seconds any single API request may take (connect + response), so a stuck server cannot hang us.
REQUEST_TIMEOUT = 60


def managed_selector(run_id: str | None = None) -> str:
    """Label selector for what loadgen created (optionally in one run)."""
    selector = f"{MANAGED_BY}={MANAGER}"
    return f"{selector},{RUN_ID}={run_id}" if run_id else selector


def is_managed(labels: dict | None) -> bool:
    return (labels or {}).get(MANAGED_BY) == MANAGER


def connect(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """An API client from `kubeconfig`, else $KUBECONFIG, else ~/.kube/config, else in-cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    configuration = client.Configuration()
    try:
        if kubeconfig or any(Path(p).expanduser().is_file() for p in path.split(os.pathsep) if p):
            config.load_kube_config(config_file=path, context=context, client_configuration=configuration)
        elif "KUBERNETES_SERVICE_HOST" in os.environ:
            config.load_incluster_config(client_configuration=configuration)
        else:
            raise InputError(
                "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config "
                "(or run inside a cluster)"
            )
    except (ConfigException, OSError, ValueError) as e:
        raise InputError(f"kubeconfig {path}: {str(e).splitlines()[0]}") from None
    configuration.retries = 1  # fail fast on a dead server instead of urllib3's 3 retries
    return client.ApiClient(configuration)


def server_message(e: ApiException) -> str:
    """The `message` of the server's Status body, or the HTTP reason."""
    try:
        return json.loads(e.body)["message"]
    except (TypeError, ValueError, KeyError):
        return e.reason or f"HTTP {e.status}"


@contextmanager
def api_errors(api: client.ApiClient, what: str):
    """Re-raise API and connection failures during `what` as one-line `InputError`s."""
    try:
        yield
    except ApiException as e:
        message = server_message(e)
        if e.status == 403:
            raise InputError(f"forbidden while {what}: {message}") from None
        if e.status == 422 or (e.status == 500 and "failed to create typed patch object" in message):
            # 422: validation; 500 typed-patch: server-side apply of a field of the wrong type
            raise InputError(f"invalid manifest while {what}: {message}") from None
        if e.status == 401:
            raise InputError(f"unauthorized while {what} (check the kubeconfig credentials): {message}") from None
        raise InputError(f"Kubernetes API error {e.status} while {what}: {message}") from None
    except (urllib3.exceptions.HTTPError, OSError) as e:
        host = api.configuration.host
        reason = getattr(e, "reason", None) or e
        raise InputError(f"cannot reach the Kubernetes API server at {host} while {what}: {reason}") from None
