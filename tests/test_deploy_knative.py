"""`--deploy knative` against the real localkube API server with Knative readiness simulation."""

import shutil

import pytest
import yaml
from kubernetes import client

from loadcore import shipped
from loadgen.deploy import objects
from loadgen.deploy.cluster import FUNCTION, MANAGED_BY, RUN_ID, connect
from loadgen.deploy.knative import KnativeOptions, Target, deploy_knative
from loadcore.errors import InputError
from loadcore.profiles import DeployCommands, read_config, read_profiles

GROUP, VERSION, PLURAL = "serving.knative.dev", "v1", "services"


@pytest.fixture(scope="module")
def recipes():
    """(proxy -> yaml, yaml-location -> commands) from the shipped profiles."""
    return read_profiles(shipped.default_profile())["yaml"].to_dict(), read_config(shipped.default_config())


def options(kubeconfig, namespace, **kw):
    return KnativeOptions(kubeconfig=kubeconfig, namespace=namespace, ready_timeout=kw.pop("ready_timeout", 20), **kw)


def knative_services(namespace):
    return {
        s["metadata"]["name"]: s
        for s in client.CustomObjectsApi().list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
    }


def test_creates_one_service_per_target_with_labels_endpoints_and_dependencies(kubeconfig, knative_crd, namespace, recipes):
    targets = [
        Target("image-rotate-go-1-aaaaaaaaaa", "image-rotate-go-1", "aaaaaaaaaa"),
        Target("image-rotate-go-2-bbbbbbbbbb", "image-rotate-go-2", "bbbbbbbbbb"),
        Target("aes-go-10-10-cccccccccc", "aes-go-10-10", "cccccccccc"),
    ]
    opts = options(kubeconfig, namespace, run_id="run-1", min_scale=1, max_scale=3)
    outcomes = deploy_knative(targets, *recipes, opts)

    assert {n: o.status for n, o in outcomes.items()} == {t.service: "ready" for t in targets}
    assert outcomes["aes-go-10-10-cccccccccc"].endpoint == f"aes-go-10-10-cccccccccc.{namespace}.127.0.0.1.sslip.io"
    created = knative_services(namespace)
    assert set(created) == {t.service for t in targets}
    service = created["aes-go-10-10-cccccccccc"]
    labels = service["metadata"]["labels"]
    assert labels[MANAGED_BY] == "loadgen" and labels[RUN_ID] == "run-1" and labels[FUNCTION] == "cccccccccc"
    template = service["spec"]["template"]["metadata"]
    assert template["annotations"] == {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "3"}
    assert [c["image"] for c in service["spec"]["template"]["spec"]["containers"]] == [
        "docker.io/vhiveease/relay-latency:latest", "docker.io/vhiveease/aes-go:latest"]

    # the shared image database of both image-rotate proxies: applied once, labelled, in our namespace
    deployments = client.AppsV1Api().list_namespaced_deployment(namespace).items
    assert [d.metadata.name for d in deployments] == ["image-rotate-database"]
    assert deployments[0].metadata.labels[MANAGED_BY] == "loadgen"
    assert [s.metadata.name for s in client.CoreV1Api().list_namespaced_service(namespace).items] == ["image-rotate-database"]
    assert [j.metadata.name for j in client.BatchV1Api().list_namespaced_job(namespace).items] == ["init-image-rotate-database"]


def test_rerun_updates_the_same_services(kubeconfig, knative_crd, namespace, recipes):
    targets = [Target("auth-go-dddddddddd", "auth-go", "dddddddddd")]
    deploy_knative(targets, *recipes, options(kubeconfig, namespace, run_id="first"))
    before = knative_services(namespace)["auth-go-dddddddddd"]["metadata"]

    outcomes = deploy_knative(targets, *recipes, options(kubeconfig, namespace, run_id="second", max_scale=2))

    assert outcomes["auth-go-dddddddddd"].status == "ready"
    after = knative_services(namespace)
    assert list(after) == ["auth-go-dddddddddd"]
    meta = after["auth-go-dddddddddd"]["metadata"]
    assert meta["uid"] == before["uid"] and meta["generation"] == before["generation"] + 1
    assert meta["labels"][RUN_ID] == "second"


def failing_yaml_dir(tmp_path, proxy_yaml, proxy, reason):
    """A copy of the shipped profiles whose `proxy` manifest makes localkube fail readiness."""
    yaml_dir = tmp_path / "profiles"
    shutil.copytree(shipped.profiles_dir(), yaml_dir)
    path = yaml_dir / proxy_yaml[proxy]
    manifest = yaml.safe_load(path.read_text())
    manifest["metadata"]["annotations"] = {"localkube.test/fail-ready": reason}
    path.write_text(yaml.safe_dump(manifest))
    return yaml_dir


def test_partial_failure_reports_each_failed_service_with_its_reason(kubeconfig, knative_crd, namespace, recipes, tmp_path):
    yaml_dir = failing_yaml_dir(tmp_path, recipes[0], "auth-python", "ImagePullBackOff")
    targets = [Target("auth-go-eeeeeeeeee", "auth-go", "e"), Target("auth-python-ffffffffff", "auth-python", "f")]

    outcomes = deploy_knative(targets, *recipes, options(kubeconfig, namespace, yaml_dir=yaml_dir))

    assert outcomes["auth-go-eeeeeeeeee"].status == "ready"
    failed = outcomes["auth-python-ffffffffff"]
    assert failed.status == "failed: ImagePullBackOff" and failed.endpoint == ""


def test_services_not_ready_by_the_deadline_time_out(kubeconfig, knative_crd, namespace, recipes):
    targets = [Target("auth-nodejs-gggggggggg", "auth-nodejs", "g")]
    outcomes = deploy_knative(targets, *recipes, options(kubeconfig, namespace, ready_timeout=0.05))
    assert outcomes["auth-nodejs-gggggggggg"].status == "failed: timeout"
    assert "not ready after 0.05 s" in outcomes["auth-nodejs-gggggggggg"].message


def test_refuses_to_take_over_a_service_loadgen_did_not_create(kubeconfig, knative_crd, namespace, recipes):
    foreign = yaml.safe_load((shipped.profiles_dir() / recipes[0]["auth-go"]).read_text())
    foreign["metadata"] = {"name": "auth-go-hhhhhhhhhh", "namespace": namespace}
    client.CustomObjectsApi().create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, foreign)

    with pytest.raises(InputError, match=f"{namespace}/auth-go-hhhhhhhhhh already exists and is not managed by loadgen"):
        deploy_knative([Target("auth-go-hhhhhhhhhh", "auth-go", "h")], *recipes, options(kubeconfig, namespace))
    assert "loadgen" not in str(knative_services(namespace)["auth-go-hhhhhhhhhh"]["metadata"].get("labels"))


def test_refuses_to_take_over_a_dependency_loadgen_did_not_create(kubeconfig, knative_crd, namespace, recipes):
    labels = {"app": "online-shop-database"}
    client.AppsV1Api().create_namespaced_deployment(namespace, {
        "metadata": {"name": "online-shop-database"},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                 "spec": {"containers": [{"name": "db", "image": "redis"}]}}},
    })
    with pytest.raises(InputError, match="Deployment .*online-shop-database already exists and is not managed by loadgen"):
        deploy_knative([Target("cartservice-iiiiiiiiii", "cartservice", "i")], *recipes, options(kubeconfig, namespace))


def break_port(manifest):
    manifest["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "not-a-port"


def break_annotation(manifest):
    manifest["metadata"]["annotations"] = {"not a key!": "x"}


@pytest.mark.parametrize("damage, server_says", [(break_port, "containerPort"), (break_annotation, "not a key!")])
def test_invalid_manifest_is_a_one_line_error_with_the_server_message(
    kubeconfig, knative_crd, namespace, recipes, tmp_path, damage, server_says
):
    yaml_dir = tmp_path / "profiles"
    shutil.copytree(shipped.profiles_dir(), yaml_dir)
    path = yaml_dir / recipes[0]["auth-go"]
    manifest = yaml.safe_load(path.read_text())
    damage(manifest)
    path.write_text(yaml.safe_dump(manifest))

    with pytest.raises(InputError, match=rf"^invalid manifest while applying Knative Service .*{server_says}") as e:
        deploy_knative([Target("auth-go-jjjjjjjjjj", "auth-go", "j")], *recipes, options(kubeconfig, namespace, yaml_dir=yaml_dir))
    assert "\n" not in e.value.message


def test_other_commands_run_only_when_allowed_as_an_argument_list(kubeconfig, knative_crd, namespace, recipes, tmp_path):
    marker = tmp_path / "ran; echo not-a-shell"
    proxy_yaml, commands = recipes
    commands = {**commands, proxy_yaml["auth-go"]: DeployCommands(pre=(f"touch '{marker}'",))}
    targets = [Target("auth-go-kkkkkkkkkk", "auth-go", "k")]

    with pytest.raises(InputError, match="is not `kubectl apply -f FILE`; pass --allow-commands"):
        deploy_knative(targets, proxy_yaml, commands, options(kubeconfig, namespace))
    assert not knative_services(namespace)

    deploy_knative(targets, proxy_yaml, commands, options(kubeconfig, namespace, allow_commands=True))
    assert marker.exists()


def test_dry_run_writes_manifests_and_touches_no_cluster(tmp_path, recipes):
    targets = [Target("hotel-app-geo-llllllllll", "hotel-app-geo", "l"), Target("hotel-app-user-mmmmmmmmmm", "hotel-app-user", "m")]
    opts = KnativeOptions(kubeconfig=str(tmp_path / "no-such-kubeconfig"), namespace="exp", dry_run=tmp_path / "out")

    outcomes = deploy_knative(targets, *recipes, opts)

    assert {o.status for o in outcomes.values()} == {"dry-run"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dependencies.yaml", "hotel-app-geo-llllllllll.yaml", "hotel-app-user-mmmmmmmmmm.yaml"]
    service = yaml.safe_load((tmp_path / "out" / "hotel-app-geo-llllllllll.yaml").read_text())
    assert service["metadata"]["namespace"] == "exp" and service["metadata"]["labels"][MANAGED_BY] == "loadgen"
    dependencies = list(yaml.safe_load_all((tmp_path / "out" / "dependencies.yaml").read_text()))
    assert sorted((d["kind"], d["metadata"]["name"]) for d in dependencies) == [
        ("Deployment", "hotel-app-database"), ("Deployment", "hotel-app-mmc"),
        ("Service", "hotel-app-database"), ("Service", "hotel-app-mmc")]


def test_teardown_deletes_only_what_loadgen_created(kubeconfig, knative_crd, namespace, recipes):
    deploy_knative([Target("cartservice-nnnnnnnnnn", "cartservice", "n")], *recipes, options(kubeconfig, namespace, run_id="a"))
    deploy_knative([Target("auth-go-oooooooooo", "auth-go", "o")], *recipes, options(kubeconfig, namespace, run_id="b"))
    foreign = yaml.safe_load((shipped.profiles_dir() / recipes[0]["auth-go"]).read_text())
    foreign["metadata"] = {"name": "not-ours", "namespace": namespace, "labels": {RUN_ID: "a"}}
    client.CustomObjectsApi().create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, foreign)
    client.CoreV1Api().create_namespaced_config_map(namespace, {"metadata": {"name": "not-ours"}})

    with connect(kubeconfig) as api:
        deleted_a = objects.delete_managed(api, [namespace], run_id="a")
        assert sorted(deleted_a) == [
            ("Deployment.apps", namespace, "online-shop-database"),
            ("Service", namespace, "online-shop-database"),
            ("Service.serving.knative.dev", namespace, "cartservice-nnnnnnnnnn"),
        ]
        assert set(knative_services(namespace)) == {"auth-go-oooooooooo", "not-ours"}
        assert objects.delete_managed(api, [namespace]) == [("Service.serving.knative.dev", namespace, "auth-go-oooooooooo")]
    assert set(knative_services(namespace)) == {"not-ours"}
    assert [c.metadata.name for c in client.CoreV1Api().list_namespaced_config_map(namespace).items
            if c.metadata.name == "not-ours"] == ["not-ours"]
