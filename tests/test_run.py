"""`loadgen run` end to end: generate, deploy (emulator or localkube), replay, report; kept short
by reading a small trace's count columns as seconds."""

import json

import orjson
from typer.testing import CliRunner

from invoker.emulator_process import emulator_process
from loadgen.cli import app
from loadcore.mappingfile import read_mapping
from loadcore.scalingfile import read_scaling

runner = CliRunner()


def short_run(*args):
    return runner.invoke(app, ["run", "--trace", "trace", "--granularity", "second", "--duration", "2", *args])


def scheduled_calls(path):
    return sum(len(unit["timestamp"]) for unit in orjson.loads(path.read_bytes()))


def test_local_run_invokes_every_call_through_the_emulator_and_reports(small_trace_workdir):
    result = short_run()

    assert result.exit_code == 0, result.output
    out = small_trace_workdir / "loadgen-run"
    assert set(read_mapping(out / "mapping.csv")["status"]) == {"ready"}
    calls = scheduled_calls(out / "load.json")
    assert calls == 3 + 4 + 5 + 2 + 2
    assert f"wrote {out.name}/latency.csv: {calls} calls" in result.output
    assert "invoker replay" not in result.output, "no hint to replay by hand what run replays itself"
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["measured"]["calls"] == calls and summary["measured"]["ok"] == calls
    # The emulator scaled: every function's first call was cold, and the report says so.
    cold = summary["cold_starts"]
    assert cold["source"] == "reported" and cold["reported_calls"] == calls
    assert cold["cold_calls"] == summary["measured"]["cold_calls"] >= 3
    assert {f["function"] for f in cold["functions"] if f["cold_calls"]} == {f["function"] for f in cold["functions"]}
    assert all(f["scale_from_zero"] >= 1 for f in cold["functions"])
    assert (out / "scaling.csv").exists() and (out / "report" / "instances.png").exists()
    assert "Cold starts (reported by the replies)" in result.output


def test_knative_run_deploys_then_invokes_through_the_ingress(small_trace_workdir, kubeconfig, knative_crd, namespace):
    with emulator_process("--sink") as port:
        result = short_run("--deploy", "knative", "--namespace", namespace, "--kubeconfig", kubeconfig,
                           "--ingress", f"127.0.0.1:{port}", "--out", "exp")
    assert result.exit_code == 0, result.output
    mapping = read_mapping(small_trace_workdir / "exp" / "mapping.csv")
    assert set(mapping["status"]) == {"ready"}
    summary = json.loads((small_trace_workdir / "exp" / "report" / "summary.json").read_text())
    calls = scheduled_calls(small_trace_workdir / "exp" / "load.json")
    assert summary["measured"]["ok"] == calls
    # The run watched its Services' Pods; localkube runs none, so every call found no ready Pod.
    scaling = read_scaling(small_trace_workdir / "exp" / "scaling.csv")
    assert sorted(scaling["function"]) == sorted(set(mapping["service"]))
    assert (scaling[["ready", "pending", "created"]] == 0).all().all()
    cold = summary["cold_starts"]
    assert (cold["source"], cold["inferred_calls"], cold["cold_calls"]) == ("inferred", calls, calls)


def test_knative_options_are_refused_for_a_local_run(small_trace_workdir):
    result = short_run("--ingress", "127.0.0.1:1")
    assert result.exit_code == 2
    assert "only with --deploy knative" in result.output


def test_a_timeout_that_is_no_deadline_is_refused_before_anything_runs(small_trace_workdir):
    """--timeout nan, inf or 1e10 used to fail every call against a healthy server, exit 0."""
    for value in ("nan", "inf", "1e10"):
        result = short_run("--timeout", value)
        assert result.exit_code == 2
        assert result.output.startswith(f"Error: --timeout {float(value):g}: expected a number of seconds above 0")
    assert not (small_trace_workdir / "loadgen-run").exists()
