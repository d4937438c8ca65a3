"""Shared fixtures: the real Kubernetes API server from ../shared/tools/localkube.

One server per test session, a fresh namespace per test.  When the server cannot start the
tests that need it skip with the reason; CI sets LOCALKUBE_REQUIRED=1 to make that a failure.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCALKUBE_DIR = Path(os.environ.get("LOCALKUBE_DIR", REPO.parent / "shared" / "tools" / "localkube"))
KNATIVE_CRD = LOCALKUBE_DIR / "crds" / "knative-serving-service-crd.yaml"


def _unavailable(reason: str) -> None:
    if os.environ.get("LOCALKUBE_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def _localkube(state: Path) -> Iterator[str]:
    """Run a localkube with the Knative readiness simulation; yield its kubeconfig's path."""
    env = dict(os.environ, PYTHON=sys.executable, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = ["bash", str(LOCALKUBE_DIR / "start.sh"), str(state), "0", "0", "--simulate-knative-ready=300ms"]
    try:
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = (getattr(e, "stderr", None) or str(e)).strip()[-800:]
        subprocess.run(["bash", str(LOCALKUBE_DIR / "stop.sh"), str(state)], check=False, capture_output=True)
        _unavailable(f"localkube could not start: {detail}")
    try:
        yield str(state / "kubeconfig")
    finally:
        subprocess.run(["bash", str(LOCALKUBE_DIR / "stop.sh"), str(state)], check=False, capture_output=True)


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory):
    """Path of a kubeconfig for a running localkube with the Knative readiness simulation."""
    if not (LOCALKUBE_DIR / "start.sh").exists():
        _unavailable(f"localkube not found at {LOCALKUBE_DIR}")
    with _localkube(tmp_path_factory.mktemp("localkube")) as path:
        old = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = path
        try:
            yield path
        finally:
            if old is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = old


@pytest.fixture(scope="session")
def bare_kubeconfig(kubeconfig, tmp_path_factory):
    """A second localkube on which the Knative CRD is never installed (Knative missing)."""
    with _localkube(tmp_path_factory.mktemp("localkube-bare")) as path:
        yield path


@pytest.fixture(scope="session")
def knative_crd(kubeconfig):
    """Installs the upstream Knative Service CRD once and waits until it is Established."""
    import time

    import yaml
    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig)
    api = client.ApiextensionsV1Api()
    body = yaml.safe_load(KNATIVE_CRD.read_text())
    api.create_custom_resource_definition(body)
    name = body["metadata"]["name"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        crd = api.read_custom_resource_definition(name)
        conditions = (crd.status and crd.status.conditions) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            time.sleep(2)  # first creates right after Established take 2 s (upstream behaviour)
            return name
        time.sleep(0.1)
    pytest.fail(f"CRD {name} did not become Established within 30 s")


@pytest.fixture
def namespace(kubeconfig):
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig)
    name = "t-" + uuid.uuid4().hex[:8]
    core = client.CoreV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.fixture
def small_trace_workdir(tmp_path, monkeypatch):
    """The current folder for one test, holding a 3-function, 2-unit trace in `trace/`."""
    from tracefiles import trace_rows

    monkeypatch.chdir(tmp_path)
    trace_rows([[3, 4], [5, 0], [2, 2]]).write(tmp_path / "trace")
    return tmp_path
