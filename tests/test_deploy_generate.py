"""`loadgen generate --deploy knative|local` end to end through the CLI, on the real localkube."""

import os
import threading
import shutil

import pytest
import yaml
from kubernetes import client
from typer.testing import CliRunner

from loadcore import shipped
from loadgen.cli import app
from loadcore.mappingfile import read_mapping
from loadcore.profiles import read_profiles

runner = CliRunner()


def generate(*args):
    return runner.invoke(app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "2", *args])


def load_endpoints(path="load.json"):
    import orjson

    units = orjson.loads(open(path, "rb").read())
    return {endpoint for unit in units for endpoint in unit["endpoint"]}


def test_knative_writes_ready_endpoints_and_reruns_in_place(small_trace_workdir, kubeconfig, knative_crd, namespace):
    args = ["--deploy", "knative", "--namespace", namespace, "--kubeconfig", kubeconfig, "--run-id", "t1"]
    result = generate(*args)
    assert result.exit_code == 0, result.output
    assert f"deployed to namespace {namespace} with run id t1" in result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    assert list(mapping["status"]) == ["ready"] * 3
    assert list(mapping["endpoint"]) == [f"{s}.{namespace}.127.0.0.1.sslip.io" for s in mapping["service"]]
    assert load_endpoints() == set(mapping["endpoint"])

    again = generate(*args[:-1], "t2")
    assert again.exit_code == 0, again.output
    services = client.CustomObjectsApi().list_namespaced_custom_object("serving.knative.dev", "v1", namespace, "services")
    assert sorted(s["metadata"]["name"] for s in services["items"]) == sorted(mapping["service"])


def test_partial_failure_exits_1_names_the_failed_function_and_keeps_it_in_mapping(small_trace_workdir, kubeconfig, knative_crd, namespace):
    assert generate("--deploy", "none").exit_code == 0
    planned = read_mapping(small_trace_workdir / "mapping.csv")
    broken_proxy = planned["proxy"][0]
    yaml_dir = small_trace_workdir / "profiles"
    shutil.copytree(shipped.profiles_dir(), yaml_dir)
    path = yaml_dir / read_profiles(shipped.default_profile()).loc[broken_proxy, "yaml"]
    manifest = yaml.safe_load(path.read_text())
    manifest["metadata"]["annotations"] = {"localkube.test/fail-ready": "RevisionFailed"}
    path.write_text(yaml.safe_dump(manifest))

    result = generate("--deploy", "knative", "--namespace", namespace, "--kubeconfig", kubeconfig, "--yaml-dir", str(yaml_dir))

    assert result.exit_code == 1
    failed = planned["service"][planned["proxy"] == broken_proxy].tolist()
    assert f"Service {failed[0]} (1 trace functions) failed: RevisionFailed\n" in result.output
    assert f"Error: {len(failed)} Services failed" in result.output and "are NOT in load.json" in result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    assert len(mapping) == 3
    broken = mapping["proxy"] == broken_proxy
    assert set(mapping["status"][broken]) == {"failed: RevisionFailed"} and set(mapping["endpoint"][broken]) == {""}
    assert set(mapping["status"][~broken]) == {"ready"}
    assert load_endpoints() == set(mapping["endpoint"][~broken])


def test_share_proxies_deploys_one_service_per_proxy(small_trace_workdir, kubeconfig, knative_crd, namespace):
    result = generate("--deploy", "knative", "--share-proxies", "--namespace", namespace, "--kubeconfig", kubeconfig)
    assert result.exit_code == 0, result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    services = client.CustomObjectsApi().list_namespaced_custom_object("serving.knative.dev", "v1", namespace, "services")
    assert len(services["items"]) == mapping["proxy"].nunique()
    assert mapping.groupby("proxy")["endpoint"].nunique().eq(1).all()


def test_dry_run_writes_manifests_and_plans_endpoints(small_trace_workdir, tmp_path):
    result = generate("--deploy", "knative", "--dry-run", "rendered", "--kubeconfig", str(tmp_path / "none"))
    assert result.exit_code == 0, result.output
    assert "dry run: wrote the rendered manifests to rendered; nothing was deployed" in result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    assert set(mapping["status"]) == {"planned"}
    assert sorted(p.stem for p in (small_trace_workdir / "rendered").glob("*.yaml") if p.stem != "dependencies") == sorted(mapping["service"])


def test_local_gives_the_emulator_hosts_and_says_how_to_replay(small_trace_workdir):
    result = generate("--deploy", "local")
    assert result.exit_code == 0, result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    assert set(mapping["status"]) == {"ready"}
    assert list(mapping["endpoint"]) == [f"{s}.default.127.0.0.1.sslip.io" for s in mapping["service"]]
    assert "invoker replay load.json --ingress 127.0.0.1:50051" in result.output


def knative_services(namespace):
    items = client.CustomObjectsApi().list_namespaced_custom_object("serving.knative.dev", "v1", namespace, "services")
    return {s["metadata"]["name"]: s for s in items["items"]}


def test_synthetic_functions_are_services_from_invitros_template_sized_from_the_trace(
    small_trace_workdir, kubeconfig, knative_crd, namespace
):
    # the max distance puts the first function (10 ms, 100 MB) on the synthetic function, the others on proxies
    assert generate("--deploy", "none", "--synthetic", "never").exit_code == 0
    limit = read_mapping(small_trace_workdir / "mapping.csv")["distance"].iloc[0] - 1e-6
    result = generate("--deploy", "knative", "--namespace", namespace, "--kubeconfig", kubeconfig,
                      "--max-distance", str(limit), "--share-proxies")
    assert result.exit_code == 0, result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    synthetic = mapping[mapping["kind"] == "synthetic"]
    assert len(synthetic) >= 1 and set(mapping["status"]) == {"ready"}
    created = knative_services(namespace)
    # synthetic functions keep a Service each even with --share-proxies; proxies share theirs
    assert len(created) == len(synthetic) + mapping["proxy"][mapping["kind"] == "proxy"].nunique()
    for row in synthetic.itertuples():
        service = created[row.service]
        assert row.service.startswith("trace-func-") and row.endpoint == f"{row.service}.{namespace}.127.0.0.1.sslip.io"
        assert service["metadata"]["labels"]["loadgen.dev/proxy"] == "trace-func"
        template = service["spec"]["template"]
        assert template["metadata"]["annotations"] == {
            "autoscaling.knative.dev/initial-scale": "0", "autoscaling.knative.dev/min-scale": "0",
            "autoscaling.knative.dev/max-scale": "200", "autoscaling.knative.dev/target-burst-capacity": "-1",
            "autoscaling.knative.dev/panic-window-percentage": "10.0",
            "autoscaling.knative.dev/panic-threshold-percentage": "200.0",
            "autoscaling.knative.dev/metric": "concurrency", "autoscaling.knative.dev/target": "100",
        }
        assert template["spec"]["containerConcurrency"] == 1
        (container,) = template["spec"]["containers"]
        assert container["image"] == "ghcr.io/vhive-serverless/invitro_trace_function:latest"
        assert [(port["name"], port["containerPort"]) for port in container["ports"]] == [("h2c", 80)]
        p100 = 100 * (int(row.HashFunction[-2:]) + 1)  # the small trace's memory, MB at every percentile
        assert container["resources"] == {"limits": {"cpu": "1000m"}, "requests": {"cpu": "100m", "memory": f"{p100 // 10}Mi"}}
    assert load_endpoints() == set(mapping["endpoint"])


def test_synthetic_image_overrides_the_template_image_in_a_dry_run(small_trace_workdir, tmp_path):
    result = generate("--deploy", "knative", "--synthetic", "always", "--dry-run", "rendered",
                      "--synthetic-image", "registry.example.com/trace-func:v2", "--min-scale", "1")
    assert result.exit_code == 0, result.output
    mapping = read_mapping(small_trace_workdir / "mapping.csv")
    assert set(mapping["kind"]) == {"synthetic"}
    for service in mapping["service"]:
        rendered = yaml.safe_load((small_trace_workdir / "rendered" / f"{service}.yaml").read_text())
        template = rendered["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == "registry.example.com/trace-func:v2"
        assert template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] == "1"
    assert [yaml.safe_load((small_trace_workdir / "rendered" / f"{s}.yaml").read_text())["spec"]["template"]["spec"]
            ["containers"][0]["resources"]["requests"]["memory"] for s in mapping["service"]] == ["10Mi", "20Mi", "30Mi"]


@pytest.mark.parametrize("args, message", [
    (["--deploy", "local", "--dry-run", "x"], "--dry-run: only with --deploy knative, not --deploy local"),
    (["--deploy", "local", "--synthetic-image", "x"], "--synthetic-image: only with --deploy knative, not --deploy local"),
    (["--deploy", "none", "--share-proxies"], "--share-proxies: only with --deploy knative, not --deploy none"),
    (["--deploy", "knative", "--run-id", "no spaces"], "--run-id 'no spaces': expected 1 to 63"),
    *((["--domain", domain], f"--domain {domain!r}: expected a host name (letters, digits, '-' and '.'; no scheme, port or spaces)")
      for domain in ("http://127.0.0.1.sslip.io", "a b", "ünï.io", "a\nb", 'a"b', "a.io:80", "")),
    (["--namespace", "Not_a_namespace"], "--namespace 'Not_a_namespace': expected a Kubernetes namespace name"),
])
def test_deploy_option_misuse_exits_2(small_trace_workdir, args, message):
    result = generate(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_config_is_read_once_so_it_may_be_a_pipe(small_trace_workdir):
    """`--config <(...)` in a shell: a pipe gives its bytes to the first reader only."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, shipped.default_config().read_bytes())
        os.close(write_end)
        result = generate("--deploy", "knative", "--dry-run", "rendered", "--config", f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
    assert result.exit_code == 0, result.output
    assert "dry run: wrote the rendered manifests to rendered" in result.output


def test_profile_is_read_once_so_it_may_be_a_pipe(small_trace_workdir):
    """The mapping and the Knative step both need profile.json; a pipe gives its bytes once."""
    read_end, write_end = os.pipe()
    content = shipped.default_profile().read_bytes()  # larger than a pipe's buffer: written by a thread
    writer = threading.Thread(target=lambda: (os.write(write_end, content), os.close(write_end)))
    writer.start()
    try:
        result = generate("--deploy", "knative", "--dry-run", "rendered", "--profile", f"/dev/fd/{read_end}")
    finally:
        writer.join(10)
        os.close(read_end)
    assert result.exit_code == 0, result.output
    assert "dry run: wrote the rendered manifests to rendered" in result.output
