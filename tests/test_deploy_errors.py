"""One-line errors of `--deploy knative` for clusters that cannot take the deployment.

localkube has no RBAC (every request is admin), so the 403 case talks to a small HTTP server
on 127.0.0.1 that answers every request as an RBAC-enabled API server answers a user
without rights: status 403 with a Kubernetes `Status` body.
"""

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from kubernetes import client
from typer.testing import CliRunner

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


def kubeconfig_for(tmp_path, server: str):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "default"}}],
    }))  # fmt: skip
    return str(path)


def tcp_server(scheme: str, drop: bool):
    """SCHEME://127.0.0.1:PORT of a TCP server that accepts every connection and then never
    answers, or (`drop`) resets it at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                connection = listener.accept()[0]
            except OSError:
                return
            if drop:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                connection.close()
            else:
                held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in held:
        connection.close()


@pytest.fixture
def mute_server():
    yield from tcp_server("https", drop=False)


@pytest.fixture
def dropping_server():
    yield from tcp_server("http", drop=True)


def cli(*args):
    from loadgen.cli import app
    from loadgen.deploy import objects  # noqa: F401  (the Kubernetes client, imported before the clock starts)

    started = time.monotonic()
    result = CliRunner().invoke(app, list(args))
    return result, time.monotonic() - started


def test_teardown_gives_up_on_a_mute_api_server_after_the_request_timeout(tmp_path, mute_server):
    result, seconds = cli("teardown", "--kubeconfig", kubeconfig_for(tmp_path, mute_server), "--request-timeout", "0.5")
    assert result.exit_code == 2, result.output
    assert result.output == (f"Error: the Kubernetes API server at {mute_server} did not answer within 0.5 s while "
                             f"discovering the API server's resources (--request-timeout)\n")
    assert seconds < 5


def test_generate_gives_up_on_a_mute_api_server_after_one_request_timeout(small_trace_workdir, mute_server):
    """Before, a read timeout was retried: twice the timeout (123 s at the default 60 s)."""
    result, seconds = cli("generate", "--trace", "trace", "--warmup", "0", "--duration", "1", "--deploy", "knative",
                          "--kubeconfig", kubeconfig_for(small_trace_workdir, mute_server), "--request-timeout", "2")
    assert result.exit_code == 2, result.output
    assert result.output.endswith(f"Error: the Kubernetes API server at {mute_server} did not answer within 2 s "
                                  f"while reading namespace default (--request-timeout)\n")
    assert seconds < 3.9


def test_observe_gives_up_on_a_mute_api_server_after_the_request_timeout(tmp_path, mute_server):
    result, seconds = cli("observe", "--run-id", "r1", "--kubeconfig", kubeconfig_for(tmp_path, mute_server),
                          "--request-timeout", "0.5", "--output", str(tmp_path / "scaling.csv"))
    assert result.exit_code == 2, result.output
    assert result.output.endswith(f"Error: the Kubernetes API server at {mute_server} did not answer within 0.5 s while "
                                  f"listing the Pods of run r1 in namespace default (--request-timeout)\n")
    assert seconds < 5


def test_teardown_against_a_refused_api_server_is_one_line(tmp_path):
    server = f"http://127.0.0.1:{closed_port()}"
    result, _ = cli("teardown", "--kubeconfig", kubeconfig_for(tmp_path, server))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot reach the Kubernetes API server at {server} while discovering")
    assert "Connection refused" in result.output and len(result.output.splitlines()) == 1


@pytest.mark.parametrize("text, message", [
    ("clusters: [\n", "not YAML (expected the node content, but found '<stream end>' at line 2, column 1)"),
    ('"a string"\n', "not a kubeconfig, expected a YAML mapping with clusters, contexts and users lists"),
    ("[1, 2]\n", "not a kubeconfig, expected a YAML mapping with clusters, contexts and users lists"),
    ("current-context: c\ncontexts: [{name: c, context: 5}]\n", "not a kubeconfig, expected a YAML mapping"),
])  # fmt: skip
def test_a_kubeconfig_that_is_no_kubeconfig_is_one_line(tmp_path, text, message):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    result, _ = cli("teardown", "--kubeconfig", str(path))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: kubeconfig {path}: {message}") and len(result.output.splitlines()) == 1


@pytest.mark.parametrize("run_id", ["", "a,loadgen.dev/run-id!=b", "x" * 64])
def test_teardown_refuses_a_run_id_that_is_no_label_value(kubeconfig, knative_crd, namespace, recipes, run_id):
    """An empty run id used to select every run in the namespace; one with a comma, more labels."""
    deploy_knative(TARGETS, *recipes, KnativeOptions(kubeconfig=kubeconfig, namespace=namespace, run_id="kept"))
    result, _ = cli("teardown", "-n", namespace, "--run-id", run_id, "--kubeconfig", kubeconfig)
    assert result.exit_code == 2
    assert result.output == f"Error: --run-id {run_id!r}: expected 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit\n"
    services = client.CustomObjectsApi().list_namespaced_custom_object("serving.knative.dev", "v1", namespace, "services")
    assert [s["metadata"]["name"] for s in services["items"]] == ["auth-go-aaaaaaaaaa"]


@pytest.mark.parametrize("value", ["nan", "inf", "0", "1e10"])
def test_request_timeout_must_be_a_bounded_number_of_seconds(tmp_path, value):
    result, _ = cli("teardown", "--kubeconfig", kubeconfig_for(tmp_path, "http://127.0.0.1:1"), "--request-timeout", value)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: --request-timeout {float(value):g}: expected a number of seconds above 0")


def test_teardown_against_an_api_server_that_drops_every_connection_is_one_line(tmp_path, dropping_server):
    result, _ = cli("teardown", "--kubeconfig", kubeconfig_for(tmp_path, dropping_server))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot reach the Kubernetes API server at {dropping_server} while discovering")
    assert "Connection reset by peer" in result.output and len(result.output.splitlines()) == 1
