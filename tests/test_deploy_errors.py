"""One-line errors of `--deploy knative` for clusters that cannot take the deployment.

localkube has no RBAC (every request is admin), so the 403 case talks to a small HTTP server
on 127.0.0.1 that answers every request as an RBAC-enabled API server answers a user
without rights: status 403 with a Kubernetes `Status` body.
"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from loadcore import shipped
from loadgen.deploy.knative import KnativeOptions, Target, deploy_knative
from loadcore.errors import InputError
from loadcore.profiles import read_config, read_profiles

TARGETS = [Target("auth-go-aaaaaaaaaa", "auth-go", "a")]


@pytest.fixture(scope="module")
def recipes():
    return read_profiles(shipped.default_profile())["yaml"].to_dict(), read_config(shipped.default_config())


def test_knative_not_installed(bare_kubeconfig, recipes):
    with pytest.raises(InputError, match=r"^Knative Serving is not installed on this cluster: .*serving.knative.dev/v1"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=bare_kubeconfig, namespace="default"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_reachable_api_server(tmp_path, kubeconfig, recipes):
    document = yaml.safe_load(open(kubeconfig))
    document["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{closed_port()}"
    dead = tmp_path / "kubeconfig"
    dead.write_text(yaml.safe_dump(document))
    with pytest.raises(InputError, match=r"^cannot reach the Kubernetes API server at https://127.0.0.1:\d+ while reading namespace"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=str(dead)))


def test_missing_kubeconfig_file(tmp_path, recipes):
    with pytest.raises(InputError, match=r"^kubeconfig .*no-such-file"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=str(tmp_path / "no-such-file")))


def test_unknown_context(kubeconfig, recipes):
    with pytest.raises(InputError, match=r"^kubeconfig .*nowhere"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=kubeconfig, context="nowhere"))


def test_manifest_missing_from_yaml_dir_fails_before_touching_the_cluster(tmp_path, recipes):
    with pytest.raises(InputError, match=r"^profile auth-go: yaml: manifest ./yamls/auth/kn-auth-go.yaml not found under --yaml-dir"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=str(tmp_path / "unused"), yaml_dir=tmp_path))


def test_missing_namespace(kubeconfig, recipes):
    with pytest.raises(InputError, match=r"^namespace no-such-ns does not exist: create it or choose another --namespace"):
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=kubeconfig, namespace="no-such-ns"))


class _ForbidEverything(BaseHTTPRequestHandler):
    def _forbid(self):
        body = json.dumps({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": f'namespaces is forbidden: User "researcher" cannot {self.command.lower()} resource at {self.path}',
        }).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forbid

    def log_message(self, *args):
        pass


@pytest.fixture
def forbidding_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForbidEverything)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_forbidden(tmp_path, forbidding_server, recipes):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": forbidding_server}}],
        "users": [{"name": "researcher", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "researcher", "namespace": "default"}}],
    }))  # fmt: skip
    with pytest.raises(InputError, match=r'^forbidden while reading namespace default: namespaces is forbidden: User "researcher" cannot get') as error:
        deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=str(kubeconfig)))
    assert "\n" not in str(error.value)
