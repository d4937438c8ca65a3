"""Connecting to the Kubernetes API and turning its failures into one-line `InputError`s.

Every call loadgen makes to a cluster goes through `connect()` and runs inside
`api_errors(what)`, so a user sees "cannot reach the API server", "forbidden", "invalid
manifest" or "Knative is not installed" with the server's own message, never a traceback.
Every request, discovery included, gives up after the client's `request_timeout` seconds
(`--request-timeout`) and is not retried, so a server that accepts and never answers costs
one timeout, not a hang.
"""

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from loadcore.errors import InputError
from loadcore.units import check_seconds

#: Labels put on every object loadgen creates; teardown selects on `MANAGED_BY`.
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "loadgen"
RUN_ID = "loadgen.dev/run-id"
FUNCTION = "loadgen.dev/function"
PROXY = "loadgen.dev/proxy"
#: Server-side-apply field manager, so re-runs update the same fields of the same objects.
FIELD_MANAGER = "loadgen"

KNATIVE_GROUP, KNATIVE_VERSION, KNATIVE_PLURAL = "serving.knative.dev", "v1", "services"
#: Default seconds any single API request may take (connect + response), so a stuck server cannot hang us.
REQUEST_TIMEOUT = 60.0


LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def check_run_id(run_id: str) -> str:
    """A run id is a label value; an empty one would select every run."""
    if not LABEL_VALUE.fullmatch(run_id):
        raise InputError(f"--run-id {run_id!r}: expected 1 to 63 letters, digits, '-', '_' or '.', "
                         f"starting and ending with a letter or digit")
    return run_id


def managed_selector(run_id: str | None = None) -> str:
    """Label selector for what loadgen created (optionally in one run)."""
    selector = f"{MANAGED_BY}={MANAGER}"
    return selector if run_id is None else f"{selector},{RUN_ID}={check_run_id(run_id)}"


def is_managed(labels: dict | None) -> bool:
    return (labels or {}).get(MANAGED_BY) == MANAGER


class BoundedApiClient(client.ApiClient):
    """An API client whose requests give up after `request_timeout` seconds unless a call sets
    its own (the watch does, for its long poll)."""

    def __init__(self, configuration: client.Configuration, request_timeout: float) -> None:
        super().__init__(configuration)
        self.request_timeout = request_timeout

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or self.request_timeout, **kwargs)


def connect(
    kubeconfig: str | None = None, context: str | None = None, request_timeout: float | None = None
) -> BoundedApiClient:
    """An API client from `kubeconfig`, else $KUBECONFIG, else ~/.kube/config, else in-cluster,
    whose requests give up after `request_timeout` seconds (None: `REQUEST_TIMEOUT`)."""
    request_timeout = check_seconds("--request-timeout", REQUEST_TIMEOUT if request_timeout is None else request_timeout)
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
    except yaml.YAMLError as e:
        raise InputError(f"kubeconfig {path}: not YAML ({_first_line(e)})") from None
    except (TypeError, AttributeError, KeyError):  # the loader's own reaction to a document of the wrong shape
        raise InputError(
            f"kubeconfig {path}: not a kubeconfig, expected a YAML mapping with clusters, contexts and users lists"
        ) from None
    configuration.retries = 0  # one attempt per request: a dead server fails at once, a mute one after the timeout
    return BoundedApiClient(configuration, request_timeout)


def _first_line(error: Exception) -> str:
    """The problem and its position of a parser error, on one line."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def server_message(e: ApiException) -> str:
    """The `message` of the server's Status body, or the HTTP reason."""
    try:
        return json.loads(e.body)["message"]
    except (TypeError, ValueError, KeyError):
        return e.reason or f"HTTP {e.status}"


@contextmanager
def api_errors(api: BoundedApiClient, what: str):
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
        # urllib3 counts a refused connection (NewConnectionError) among the connect timeouts too
        if isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(reason, urllib3.exceptions.NewConnectionError):
            raise InputError(
                f"the Kubernetes API server at {host} did not answer within {api.request_timeout:g} s while {what} "
                f"(--request-timeout)"
            ) from None
        raise InputError(f"cannot reach the Kubernetes API server at {host} while {what}: {reason}") from None
