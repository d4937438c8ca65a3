"""The shipped proxy manifests: one per profile entry, the two-container shape, and all of them
(with every dependency file) accepted by the real Knative CRD schema on localkube."""

import pytest
from kubernetes import client

from loadcore import shipped
from loadcore.errors import InputError
from loadgen.deploy import manifests
from loadgen.deploy.knative import KnativeOptions, Target, deploy_knative
from loadcore.profiles import read_config, read_profiles

PROFILES = read_profiles(shipped.default_profile())
CONFIG = read_config(shipped.default_config())


@pytest.mark.parametrize("proxy", PROFILES.index)
def test_every_proxy_has_a_relay_and_function_manifest(proxy):
    path = manifests.resolve(shipped.profiles_dir(), PROFILES.loc[proxy, "yaml"], proxy)
    service = manifests.load_service(path)
    assert service["metadata"]["name"] == proxy
    relay, function = service["spec"]["template"]["spec"]["containers"]
    assert relay["ports"] == [{"name": "h2c", "containerPort": 50000}]
    assert relay["image"] == "docker.io/vhiveease/relay-latency:latest"
    assert function["image"].startswith("docker.io/vhiveease/") and "ports" not in function


def test_variant_names_set_the_relay_or_function_input():
    def args(proxy):
        path = manifests.resolve(shipped.profiles_dir(), PROFILES.loc[proxy, "yaml"], proxy)
        relay, function = manifests.load_service(path)["spec"]["template"]["spec"]["containers"]
        return relay["args"], function.get("args", [])

    assert {"--lowerBound=1000", "--upperBound=1010"} <= set(args("aes-go-1000-1010")[0])
    assert "--value=img7.jpg" in args("image-rotate-python-7")[0]
    assert "--num_frames=320" in args("video-processing-python-320")[1]


def test_every_proxy_and_dependency_deploys_against_the_real_crd(kubeconfig, knative_crd, namespace):
    targets = [Target(f"{proxy}-x"[:49], proxy, "x") for proxy in PROFILES.index]
    outcomes = deploy_knative(
        targets, PROFILES["yaml"].to_dict(), CONFIG, KnativeOptions(kubeconfig=kubeconfig, namespace=namespace)
    )
    assert {o.status for o in outcomes.values()} == {"ready"} and len(outcomes) == 191
    deployments = {d.metadata.name for d in client.AppsV1Api().list_namespaced_deployment(namespace).items}
    assert deployments == {
        "online-shop-database", "hotel-app-database", "hotel-app-mmc", "image-rotate-database",
        "video-processing-database", "video-analytics-standalone-database",
    }


def test_the_synthetic_manifest_is_one_faas_container_and_a_broken_copy_is_a_one_line_error():
    path = manifests.resolve(shipped.profiles_dir(), manifests.SYNTHETIC_MANIFEST, "synthetic")
    service = manifests.load_service(path)
    (container,) = service["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "h2c", "containerPort": 80}]
    fitted = manifests.fit_synthetic(service, manifests.synthetic_memory_request(1533), "img:1", "x")
    assert fitted["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "154Mi"}
    assert manifests.synthetic_memory_request(0) == "1Mi"
    with pytest.raises(InputError, match="copy.yaml: expected a Service with spec.template.spec.containers"):
        manifests.fit_synthetic({"spec": {"template": {}}}, "1Mi", None, "copy.yaml")
