"""The shipped proxy manifests: one per profile entry, the two-container shape, and all of them
(with every dependency file) accepted by the real Knative CRD schema on localkube."""

import pytest
import yaml
from kubernetes import client

from loadcore import shipped
from loadcore.errors import InputError
from loadgen.deploy import manifests
from loadgen.deploy.knative import KnativeOptions, Target, deploy_knative, plan
from loadcore.profiles import DeployCommands, read_config, read_profiles

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


def proxy_folder(tmp_path, manifest: str = "", config_commands=()):
    """A --yaml-dir holding one proxy manifest `kn-p.yaml` (the shipped auth-go one unless given)."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    source = manifests.resolve(shipped.profiles_dir(), PROFILES.loc["auth-go", "yaml"], "auth-go")
    (folder / "kn-p.yaml").write_text(manifest or source.read_text())
    return folder, {"./kn-p.yaml": DeployCommands(pre=tuple(config_commands))}


def plan_one(folder, yaml_path="./kn-p.yaml", commands=None, **options):
    return plan([Target("p-aaaaaaaaaa", "p", "a")], {"p": yaml_path}, commands or {},
                KnativeOptions(yaml_dir=folder, **options))


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_a_profile_yaml_outside_the_yaml_dir_is_refused_unless_allowed(tmp_path, where):
    folder, _ = proxy_folder(tmp_path)
    outside = tmp_path / "secret.yaml"
    outside.write_text((folder / "kn-p.yaml").read_text())
    (folder / "link.yaml").symlink_to(outside)
    path = {"absolute": str(outside), "dotdot": "../secret.yaml", "symlink": "./link.yaml"}[where]
    with pytest.raises(InputError) as error:
        plan_one(folder, path)
    assert error.value.message == (f"profile p: yaml: {path} is outside --yaml-dir {folder}; "
                                   f"pass --allow-outside-yaml-dir to use it")
    assert len(plan_one(folder, path, allow_outside_yaml_dir=True).services) == 1


def test_a_dependency_file_outside_the_yaml_dir_is_refused_unless_allowed(tmp_path):
    (tmp_path / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n")
    folder, commands = proxy_folder(tmp_path, config_commands=[f"kubectl apply -f {tmp_path / 'secret.yaml'}"])
    with pytest.raises(InputError, match=r"^config.json: entry ./kn-p.yaml: predeployment-commands: /.*/secret.yaml "
                                         r"is outside --yaml-dir .*; pass --allow-outside-yaml-dir to use it$"):
        plan_one(folder, commands=commands)
    files = plan_one(folder, commands=commands, allow_outside_yaml_dir=True).files
    assert [obj["kind"] for objs in files.values() for obj in objs] == ["Secret"]


ALIAS_BOMB = """apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: p}
spec:
  template:
    metadata:
      annotations:
        a: &a ["xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h]
        j: [*i, *i, *i, *i, *i, *i, *i, *i]
    spec:
      containers: [{image: x}]
"""


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    """Written out, this 1 kB manifest is 8^9 x 4 strings: 2.5 TB of JSON to send the API server."""
    folder, _ = proxy_folder(tmp_path, ALIAS_BOMB)
    with pytest.raises(InputError) as error:
        plan_one(folder)
    assert error.value.message == (f"{folder / 'kn-p.yaml'}: document 1 expands to more than 3 MiB once its YAML "
                                   f"aliases are written out, the most the API server takes in one object")


def test_aliases_that_expand_to_a_small_object_are_kept(tmp_path):
    source = (manifests.resolve(shipped.profiles_dir(), PROFILES.loc["auth-go", "yaml"], "auth-go")).read_text()
    manifest = yaml.safe_load(source)
    manifest["spec"]["template"].setdefault("metadata", {})["annotations"] = {"a": "shared", "b": "shared"}
    text = yaml.safe_dump(manifest).replace("a: shared", "a: &s shared").replace("b: shared", "b: *s")
    folder, _ = proxy_folder(tmp_path, text)
    service = plan_one(folder).services[0]
    assert service["spec"]["template"]["metadata"]["annotations"] == {"a": "shared", "b": "shared"}


def test_a_manifest_that_is_not_utf8_is_one_line(tmp_path):
    folder, _ = proxy_folder(tmp_path)
    (folder / "kn-p.yaml").write_bytes(b"apiVersion: v1\nkind: \xff\n")
    with pytest.raises(InputError, match=r"kn-p.yaml: not readable YAML: unacceptable character #x00ff"):
        plan_one(folder)
