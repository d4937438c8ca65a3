"""`loadgen report` and `loadgen run` with proxies and synthetic functions in one run: the
slowdown of synthetic calls against their requested runtime and the per-kind breakdown."""

import csv
import json

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from loadcore.mappingfile import COLUMNS as MAPPING_COLUMNS
from loadcore.mappingfile import read_mapping, write_mapping
from loadcore.results import COLUMNS, ResultRow
from loadcore.summary import Summary
from loadgen.cli import app

PROXY, SYNTH = "fib-0123456789.default.example.com", "trace-func-0123456789.default.example.com"


def write_rows(path, rows):
    """rows: (endpoint, latency_from_schedule_us, status, requested runtime ms or None)."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i, (endpoint, latency, status, runtime) in enumerate(rows):
            synthetic = runtime is not None
            writer.writerow(ResultRow(1, "measure", endpoint, f"id-{i}", 1_000_000 + i, 1_000_000 + i, 0, latency, latency,
                                      status, "" if status == "OK" else "boom", service_us=latency - 100,
                                      memory_usage_kb=1024 if synthetic else "", instance="", cold="",
                                      requested_runtime_ms=runtime if synthetic else "",
                                      requested_memory_mib=1 if synthetic else "", run_id="run-a", shard="1/1",
                                      host="h", t0_unix_us=1))
    return path


def mapping_file(path):
    write_mapping(pd.DataFrame([
        ("o", "a", "f1", "http", 30.0, 2.0, "fib", 30.0, 4.0, 0.1, PROXY.split(".")[0], PROXY, "ready", "proxy", "sayhello"),
        ("o", "a", "f2", "http", 30.0, 2.0, "fib", 30.0, 4.0, 3.0, SYNTH.split(".")[0], SYNTH, "ready", "synthetic", "faas"),
    ], columns=MAPPING_COLUMNS), path)  # fmt: skip
    return path


def test_synthetic_slowdown_is_latency_over_each_calls_requested_runtime_and_kinds_are_broken_down(tmp_path):
    rng = np.random.default_rng(5)
    runtimes = rng.integers(10, 5_000, 1_000)
    factors = rng.uniform(1.0, 3.0, 1_000)
    rows = [(SYNTH, int(r * f * 1000), "OK", int(r)) for r, f in zip(runtimes, factors)]
    rows += [(PROXY, 8_000 + 10 * i, "OK" if i % 10 else "UNAVAILABLE", None) for i in range(200)]
    results = write_rows(tmp_path / "latency.csv", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(results), "--mapping", str(mapping_file(tmp_path / "mapping.csv")),
                                      "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    functions = {f["endpoint"]: f for f in summary["functions"]}
    synthetic, proxy = functions[SYNTH], functions[PROXY]
    ratios = np.array([latency / (runtime * 1000) for _, latency, _, runtime in rows[:1_000]])
    assert synthetic["kind"] == "synthetic" and synthetic["proxy"] is None and synthetic["profiled_duration_us"] is None
    assert synthetic["slowdown_p50"] == pytest.approx(np.percentile(ratios, 50), rel=0.02)
    assert synthetic["slowdown_p99"] == pytest.approx(np.percentile(ratios, 99), rel=0.02)
    assert proxy["kind"] == "proxy" and proxy["proxy"] == "fib" and proxy["profiled_duration_us"] == 4000
    assert proxy["slowdown_p50"] == proxy["latency_from_schedule_us"]["p50"] / 4000
    kinds = {k["kind"]: k for k in summary["kinds"]}
    assert [k["kind"] for k in summary["kinds"]] == ["proxy", "synthetic"]
    assert (kinds["proxy"]["functions"], kinds["proxy"]["calls"], kinds["proxy"]["failed"]) == (1, 200, 20)
    assert kinds["proxy"]["failures"] == {"UNAVAILABLE": 20}
    assert (kinds["synthetic"]["functions"], kinds["synthetic"]["calls"], kinds["synthetic"]["ok"]) == (1, 1_000, 1_000)
    assert kinds["synthetic"]["slowdown_p50"] == pytest.approx(np.percentile(ratios, 50), rel=0.02)
    proxy_ratios = np.array([latency / 4000 for _, latency, _, _ in rows[1_000:]])
    assert kinds["proxy"]["slowdown_p99"] == pytest.approx(np.percentile(proxy_ratios, 99), rel=0.02)
    assert kinds["synthetic"]["latency_from_schedule_us"]["max"] == max(latency for _, latency, _, _ in rows[:1_000])
    assert "By kind" in result.output and "synthetic" in result.output
    assert (out / "slowdown-cdf.png").exists()
    assert Summary.read(out / "summary.json").to_json() == summary


def test_without_a_mapping_synthetic_calls_still_have_their_slowdown_and_proxies_none(tmp_path):
    rows = [(SYNTH, 2_000 * 1000, "OK", 1_000)] * 3 + [(PROXY, 5_000, "OK", None)]
    result = CliRunner().invoke(app, ["report", str(write_rows(tmp_path / "latency.csv", rows)), "--output-dir",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    kinds = {k["kind"]: k for k in summary["kinds"]}
    assert kinds["synthetic"]["slowdown_p50"] == pytest.approx(2.0, rel=0.01) and kinds["proxy"]["slowdown_p50"] is None


def test_a_proxy_only_report_has_one_kind_and_prints_no_kind_table(tmp_path):
    rows = [(PROXY, 5_000 + i, "OK", None) for i in range(50)]
    result = CliRunner().invoke(app, ["report", str(write_rows(tmp_path / "latency.csv", rows)), "--output-dir",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "By kind" not in result.output and not (tmp_path / "out" / "slowdown-cdf.png").exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [(k["kind"], k["calls"]) for k in summary["kinds"]] == [("proxy", 50)]


def test_a_summary_json_written_before_kinds_existed_still_reads(tmp_path):
    rows = [(PROXY, 5_000 + i, "OK", None) for i in range(50)]
    CliRunner().invoke(app, ["report", str(write_rows(tmp_path / "latency.csv", rows)), "--output-dir", str(tmp_path / "out")])
    document = json.loads((tmp_path / "out" / "summary.json").read_text())
    del document["kinds"]
    for function in document["functions"]:
        del function["kind"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    old = Summary.read(tmp_path / "old.json")
    assert old.kinds == [] and old.functions[0].kind is None and old.measured.calls == 50


def test_loadgen_run_with_fallback_mixes_both_kinds_in_one_run_and_every_call_is_ok(small_trace_workdir):
    # with --max-distance just below the small trace's largest distance, its farthest function goes synthetic
    assert CliRunner().invoke(app, ["generate", "--trace", "trace", "--synthetic", "never", "--warmup", "0",
                                    "--duration", "2"]).exit_code == 0
    limit = read_mapping(small_trace_workdir / "mapping.csv")["distance"].max() - 1e-6
    result = CliRunner().invoke(app, ["run", "--trace", "trace", "--granularity", "second", "--duration", "2",
                                      "--synthetic", "fallback", "--max-distance", str(limit), "--max-runtime-ms", "500"])
    assert result.exit_code == 0, result.output
    out = small_trace_workdir / "loadgen-run"
    mapping = read_mapping(out / "mapping.csv")
    assert set(mapping["kind"]) == {"proxy", "synthetic"}
    units = orjson.loads((out / "load.json").read_bytes())
    calls = sum(len(unit["timestamp"]) for unit in units)
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["measured"]["calls"] == summary["measured"]["ok"] == calls
    kinds = {k["kind"]: k for k in summary["kinds"]}
    synthetic_calls = sum(runtime is not None for unit in units for runtime in unit.get("runtime_ms", []))
    assert kinds["synthetic"]["calls"] == synthetic_calls > 0
    assert sum(k["calls"] for k in kinds.values()) == calls
    assert "By kind" in result.output and "(timeout " in result.output
    # the emulator scaled both kinds: every call says whether it was cold, each function's first call was
    results = pd.read_csv(out / "latency.csv", keep_default_na=False, dtype={"cold": str, "instance": str})
    assert set(results["cold"]) == {"true", "false"} and (results["instance"] != "").all()
    first = results.sort_values("scheduled_us").drop_duplicates("endpoint")
    assert (first["cold"] == "true").all()
    functions = {kind: int((mapping["kind"] == kind).sum()) for kind in ("proxy", "synthetic")}
    assert {kind: k["cold_calls"] >= functions[kind] for kind, k in kinds.items()} == {"proxy": True, "synthetic": True}
    assert summary["cold_starts"]["cold_calls"] == sum(k["cold_calls"] for k in kinds.values())
    assert "Cold starts (reported by the replies)" in result.output
