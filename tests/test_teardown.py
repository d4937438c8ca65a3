"""`loadgen teardown` on the real localkube: only labelled objects go, optionally one run's."""

from kubernetes import client
from typer.testing import CliRunner

from loadcore import shipped
from loadgen.cli import app
from loadgen.deploy.knative import KnativeOptions, Target, deploy_knative
from loadcore.profiles import read_config, read_profiles

GROUP, VERSION, PLURAL = "serving.knative.dev", "v1", "services"


def names(namespace):
    items = client.CustomObjectsApi().list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
    return {s["metadata"]["name"] for s in items}


def test_teardown_by_run_id_then_all_sparing_foreign_objects(kubeconfig, knative_crd, namespace):
    recipes = read_profiles(shipped.default_profile())["yaml"].to_dict(), read_config(shipped.default_config())
    for run_id, target in (("r1", Target("auth-go-aaaaaaaaaa", "auth-go", "a")), ("r2", Target("emailservice-bbbbbbbbbb", "emailservice", "b"))):
        deploy_knative([target], *recipes, KnativeOptions(kubeconfig=kubeconfig, namespace=namespace, run_id=run_id))
    client.CoreV1Api().create_namespaced_service(namespace, {
        "metadata": {"name": "foreign", "labels": {"app.kubernetes.io/managed-by": "helm"}},
        "spec": {"ports": [{"port": 80}]},
    })
    runner = CliRunner()

    first = runner.invoke(app, ["teardown", "-n", namespace, "--run-id", "r1", "--kubeconfig", kubeconfig])
    assert first.exit_code == 0, first.output
    assert f"deleted Service.serving.knative.dev {namespace}/auth-go-aaaaaaaaaa" in first.output
    assert names(namespace) == {"emailservice-bbbbbbbbbb"}

    rest = runner.invoke(app, ["teardown", "--namespace", namespace, "--kubeconfig", kubeconfig])
    assert rest.exit_code == 0, rest.output
    assert rest.output.splitlines()[-1] == (
        f"deleted 3 objects labelled app.kubernetes.io/managed-by=loadgen in namespace {namespace}")
    assert names(namespace) == set()
    assert [s.metadata.name for s in client.CoreV1Api().list_namespaced_service(namespace).items] == ["foreign"]


def test_teardown_without_a_server_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["teardown", "--kubeconfig", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: kubeconfig ") and len(result.output.strip().splitlines()) == 1
