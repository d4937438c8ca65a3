"""The pod watch (loadgen.observe) against localkube, and the cold-start inference on its rows.

localkube runs no pods: the tests create, update and delete Pod objects with the labels Knative
puts on a Service's Pods, as the Knative controllers and the kubelet would.
"""

import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from loadcore.scalingfile import COLUMNS, ScalingRow, read_scaling
from loadgen import coldstarts, observe
from loadgen.cli import app
from loadgen.deploy.cluster import KNATIVE_GROUP, KNATIVE_PLURAL, KNATIVE_VERSION, RUN_ID, connect

S = 1_000_000
RUN = "obs-1"
EPOCH_S = 1_800_000_000


def knative_service(name, run_id=RUN):
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "labels": {RUN_ID: run_id}},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/f"}]}}},
    }  # fmt: skip


def pod(name, service, run_id=RUN, hold=False):
    metadata = {"name": name, "labels": {observe.SERVICE_LABEL: service, RUN_ID: run_id}}
    if hold:  # a finalizer keeps a deleted Pod present, with a deletionTimestamp: terminating
        metadata["finalizers"] = ["loadgen.test/hold"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {"containers": [{"name": "c", "image": "x"}]}}


class StepClock:
    """Wall clock of the observer: second `step` after EPOCH_S, moved by the test."""

    def __init__(self):
        self.step = 0

    def __call__(self):
        return (EPOCH_S + self.step) * 1_000_000_000


@pytest.fixture
def cluster(kubeconfig, knative_crd, namespace):
    from kubernetes import client

    api = connect(kubeconfig)
    custom = client.CustomObjectsApi(api)
    for name in ("fa", "fb"):
        custom.create_namespaced_custom_object(KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL, knative_service(name))
    custom.create_namespaced_custom_object(KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL, knative_service("other", "obs-2"))
    yield api, client.CoreV1Api(api), namespace
    api.close()


def wait_rows(path, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines()
        if len(lines) - 1 >= count:
            return lines
        time.sleep(0.02)
    raise AssertionError(f"{path}: {len(lines) - 1} rows after {timeout} s, expected {count}: {lines}")


def test_pod_watch_writes_a_row_per_change_and_cold_likely_follows_it(cluster, tmp_path):
    api, core, namespace = cluster
    core.create_namespaced_pod(namespace, pod("fb-early", "fb"))  # there before the watch: not "created"
    clock, output = StepClock(), tmp_path / "scaling.csv"
    clock.step = 1
    observation = observe.PodObservation(api, observe.Selection(namespace, RUN), output, clock=clock, slice_s=1)
    observation.begin()
    with observation.following() as outcome:
        wait_rows(output, 2)
        steps = [
            lambda: core.create_namespaced_pod(namespace, pod("fa-1", "fa", hold=True)),
            lambda: core.patch_namespaced_pod_status("fa-1", namespace, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
            lambda: core.create_namespaced_pod(namespace, pod("other-1", "other", "obs-2")),  # another run: no row
            lambda: core.patch_namespaced_pod_status("fb-early", namespace, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
            lambda: core.delete_namespaced_pod("fa-1", namespace),
            lambda: core.patch_namespaced_pod("fa-1", namespace, {"metadata": {"finalizers": None}}),
            lambda: core.patch_namespaced_pod_status("fb-early", namespace, {"status": {"phase": "Failed"}}),
            lambda: core.create_namespaced_pod(namespace, pod("fa-2", "fa")),
        ]  # fmt: skip
        expected_rows = 2
        for step, action in enumerate(steps, start=2):
            clock.step = step
            action()
            if step != 4:
                expected_rows += 1
                wait_rows(output, expected_rows)
    assert outcome.warnings == [] and outcome.failure is None and outcome.rows_written == expected_rows == 9
    at = lambda step: (EPOCH_S + step) * S  # noqa: E731
    lines = output.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert [ScalingRow(*row) for row in read_scaling(output).itertuples(index=False)] == [
        ScalingRow(at(1), "fa", 0, 0, 0, 0, 0),
        ScalingRow(at(1), "fb", 0, 1, 0, 0, 0),
        ScalingRow(at(2), "fa", 0, 1, 0, 1, 0),
        ScalingRow(at(3), "fa", 1, 0, 0, 1, 0),
        ScalingRow(at(5), "fb", 1, 0, 0, 0, 0),
        ScalingRow(at(6), "fa", 0, 0, 1, 1, 0),
        ScalingRow(at(7), "fa", 0, 0, 0, 1, 1),
        ScalingRow(at(8), "fb", 0, 0, 0, 0, 0),
        ScalingRow(at(9), "fa", 0, 1, 0, 2, 1),
    ]
    scaling = read_scaling(output)
    endpoints = np.array([f"{f}.{namespace}.example.com" for f in ("fa", "fa", "fa", "fa", "fb", "fb", "fc")])
    sent = np.array([at(0.5), at(1.5), at(3.5), at(7), at(1), at(5.5), at(3)], dtype=np.int64)
    assert coldstarts.cold_likely(scaling, endpoints, sent).tolist() == [-1, 1, 0, 1, 1, 0, -1]
    events = coldstarts.scale_from_zero(scaling)
    assert events[["function", "start_us"]].values.tolist() == [["fa", at(2)], ["fa", at(9)]]
    assert events["delay_us"].tolist()[0] == S and np.isnan(events["delay_us"].tolist()[1])


def test_the_watch_of_named_services_ends_after_its_duration(cluster, tmp_path):
    api, core, namespace = cluster
    core.create_namespaced_pod(namespace, pod("other-1", "other", "obs-2"))
    stop = threading.Event()
    started = time.monotonic()
    outcome = observe.observe(api, observe.Selection(namespace, services=("other", "nothing")), tmp_path / "s.csv", stop, duration=1.5)
    assert 1.5 <= time.monotonic() - started < 5
    rows = read_scaling(tmp_path / "s.csv")
    assert rows[["function", "pending", "created"]].values.tolist() == [["nothing", 0, 0], ["other", 1, 0]]
    assert outcome.rows_written == 2 and outcome.functions == 2


def test_loadgen_observe_writes_scaling_csv_and_says_so(cluster, tmp_path, kubeconfig):
    api, core, namespace = cluster
    output = tmp_path / "scaling.csv"
    result = CliRunner().invoke(
        app, ["observe", "--run-id", RUN, "-n", namespace, "--kubeconfig", kubeconfig, "--output", str(output), "--duration", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"wrote {output}: 2 rows, 2 functions (run {RUN} in namespace {namespace})"
    assert read_scaling(output)["function"].tolist() == ["fa", "fb"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --run-id (the Pods of one loadgen run) or --service NAME, exactly one of them"),
        (["--run-id", "a", "--service", "b"], "give --run-id (the Pods of one loadgen run) or --service NAME, exactly one of them"),
        (["--service", "Not_A_Name"], "--service 'Not_A_Name': not a Knative Service name (a DNS label)"),
    ],
)
def test_loadgen_observe_bad_options_are_one_line_errors(args, message, tmp_path):
    result = CliRunner().invoke(app, ["observe", *args, "--output", str(tmp_path / "s.csv")])
    assert (result.exit_code, result.output) == (2, f"Error: {message}\n")


def test_loadgen_observe_without_a_server_is_a_one_line_error(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    result = CliRunner().invoke(app, ["observe", "--run-id", "r", "--kubeconfig", str(kubeconfig), "--output", str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot reach the Kubernetes API server at https://127.0.0.1:9 while listing the Pods of run r")


def test_pod_counts_reconcile_after_a_relist_counts_what_came_and_went():
    def listed(uid, function, ready):
        conditions = [{"type": "Ready", "status": "True"}] if ready else []
        return {"metadata": {"uid": uid, "labels": {observe.SERVICE_LABEL: function}}, "status": {"conditions": conditions}}

    counts = observe.PodCounts(["fa"])
    assert counts.start([listed("1", "fa", True), listed("2", "fa", False)], 10) == [ScalingRow(10, "fa", 1, 1, 0, 0, 0)]
    rows = counts.reconcile([listed("2", "fa", True), listed("3", "fb", False)], 20)
    assert rows == [ScalingRow(20, "fa", 1, 0, 0, 0, 1), ScalingRow(20, "fb", 0, 1, 0, 1, 0)]
    assert counts.reconcile([listed("2", "fa", True), listed("3", "fb", False)], 30) == []
