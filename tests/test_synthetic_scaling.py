"""Synthetic functions and cold starts together: a mixed proxy + synthetic replay against the
scaling emulator on 127.0.0.1, read back as the invoker wrote it and as the report sums it up."""

import grpc
import numpy as np
import pandas as pd
import pytest

from invoker import emulate, faas_pb2, protocols
from invoker.dispatch import Target
from invoker.protocols import faas
from invoker.replay import ReplayOptions, replay
from invoker.scaling import Policy
from loadcore.loadfile import ABSENT, LoadWriter
from loadcore.results import ResultsChunks
from loadgen.report import report

COLD_MS = 300
PROXY_MS = 2.0
PROXY, PROXY2 = "fib-1.default.example.com", "fib-2.default.example.com"
SYNTH, SYNTH2 = "trace-func-1.default.example.com", "trace-func-2.default.example.com"
ENDPOINTS = [PROXY, PROXY2, SYNTH, SYNTH2]
RUNTIMES_MS = (5, 40, 120)
PER_UNIT = 8  # one call every 125 ms, so each function gets one every 500 ms: more than a cold start and a runtime


def functions():
    proxy = emulate.EmulatedFunction("fib", emulate.ServiceTime([0, 100], [PROXY_MS, PROXY_MS]), memory_mb=30.0)
    synthetic = {endpoint: emulate.EmulatedFunction(endpoint.split(".")[0], None, faas.Faas.name, memory_mb=30.0)
                 for endpoint in (SYNTH, SYNTH2)}  # fmt: skip
    return {PROXY: proxy, PROXY2: proxy, **synthetic}


def scaling(**policy):
    return emulate.Scaling(cold_start_ms=COLD_MS, policy=Policy(**policy))


def mixed_load(path, units=2):
    """`units` one-second units of `PER_UNIT` evenly spread calls cycling over ENDPOINTS; the
    synthetic calls cycle over RUNTIMES_MS."""
    cycle = 0
    with LoadWriter(path, ENDPOINTS) as writer:
        for _ in range(units):
            offsets = np.arange(PER_UNIT, dtype=np.int64) * (1_000_000 // PER_UNIT)
            endpoint = np.arange(PER_UNIT, dtype=np.int64) % len(ENDPOINTS)
            runtime = np.full(PER_UNIT, ABSENT, dtype=np.int64)
            for call in np.flatnonzero(endpoint >= 2):
                runtime[call] = RUNTIMES_MS[cycle % len(RUNTIMES_MS)]
                cycle += 1
            memory = np.where(runtime == ABSENT, ABSENT, 64)
            writer.write_unit(offsets, endpoint, {"runtime_ms": runtime, "memory_mib": memory})
    return path


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """One mixed replay against a scaling emulator: (results table, results path)."""
    folder = tmp_path_factory.mktemp("mixed")
    load = mixed_load(folder / "load.json")
    with emulate.start(functions(), scaling=scaling()) as server:
        outcome = replay(ReplayOptions(load=load, output=folder / "latency.csv", granularity="second", warmup=0,
                                       duration=2, target=Target(ingress=f"127.0.0.1:{server.port}", timeout=5)))
    assert outcome.summary.calls == outcome.summary.ok == 2 * PER_UNIT
    return pd.concat(list(ResultsChunks(folder / "latency.csv")), ignore_index=True), folder / "latency.csv"


def test_synthetic_calls_get_an_instance_and_a_cold_flag_and_each_functions_first_call_is_cold(replayed):
    table, _ = replayed
    table = table.sort_values("scheduled_us", ignore_index=True)
    assert (table["status"] == "OK").all()
    assert set(table["cold"]) == {"true", "false"} and (table["instance"] != "").all()
    first = ~table["endpoint"].duplicated()
    assert table.loc[first, "endpoint"].tolist() == ENDPOINTS
    assert (table.loc[first, "cold"] == "true").all() and (table.loc[~first, "cold"] == "false").all()
    # calls 500 ms apart find their function's one instance idle: one instance each, named after its service
    assert table.groupby("endpoint")["instance"].agg(set).to_dict() == {
        endpoint: {f"{endpoint.split('.')[0]}-1"} for endpoint in ENDPOINTS
    }


def test_a_cold_synthetic_call_takes_its_runtime_plus_the_cold_start_and_reports_only_its_runtime(replayed):
    table, _ = replayed
    synthetic = table[table["requested_runtime_ms"].notna()]
    assert len(synthetic) == PER_UNIT and sorted(synthetic["requested_runtime_ms"].unique()) == list(RUNTIMES_MS)
    runtime_us = synthetic["requested_runtime_ms"] * 1000
    cold = (synthetic["cold"] == "true").to_numpy()
    assert cold.sum() == 2
    assert (synthetic["latency_us"][cold] >= runtime_us[cold] + COLD_MS * 1000).all()
    assert (synthetic["latency_us"] >= runtime_us).all()
    # durationInMicroSec is the handler's time, as trace-func-go's: the cold start is not in it
    assert (synthetic["service_us"] >= runtime_us).all() and (synthetic["service_us"] < runtime_us + COLD_MS * 1000).all()
    assert (synthetic["memory_usage_kb"] == 64 * 1024).all()
    proxy = table[table["requested_runtime_ms"].isna()]
    assert (proxy["service_us"] == PROXY_MS * 1000).all() and proxy["memory_usage_kb"].isna().all()
    assert (proxy["latency_us"][proxy["cold"] == "true"] >= COLD_MS * 1000 + PROXY_MS * 1000).all()


def test_the_report_breaks_cold_starts_down_by_kind_and_function(replayed, tmp_path):
    _, results = replayed
    summary = report([results], output_dir=tmp_path / "report").summary
    assert [(k.kind, k.calls, k.cold_calls, k.warm_calls) for k in summary.kinds] == [
        ("proxy", 8, 2, 6), ("synthetic", 8, 2, 6)]
    cold = summary.cold_starts
    assert (cold.source, cold.reported_calls, cold.cold_calls, cold.warm_calls) == ("reported", 16, 4, 12)
    assert {f.function: (f.calls, f.cold_calls) for f in cold.functions} == {
        endpoint.split(".")[0]: (4, 1) for endpoint in ENDPOINTS}
    assert {f.endpoint: (f.kind, f.cold_calls) for f in summary.functions} == {
        PROXY: ("proxy", 1), PROXY2: ("proxy", 1), SYNTH: ("synthetic", 1), SYNTH2: ("synthetic", 1)}
    written = {path.name for path in (tmp_path / "report").iterdir()}
    assert {"slowdown-cdf.png", "latency-cdf-cold-warm.png", "summary.json"} <= written


@pytest.mark.parametrize("busy", [False, True])
def test_warm_serves_synthetic_calls_on_one_warm_instance_waiting_or_spinning(busy):
    with emulate.start(functions(), scaling=emulate.WARM, busy=busy) as server:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            request = faas.encode_request(protocols.new_invocation_id(), 50, 8)
            reply, rpc = faas.Faas().multicallable(channel).with_call(
                request, metadata=protocols.endpoint_metadata(SYNTH), timeout=5)
    trailers = dict(rpc.trailing_metadata())
    assert (trailers[protocols.INSTANCE_TRAILER], trailers[protocols.COLD_TRAILER]) == ("trace-func-1-warm", "false")
    assert 50_000 <= faas_pb2.FaasReply.FromString(reply).durationInMicroSec < 1_000_000


def test_an_allocation_failure_still_waits_for_its_instance_to_start():
    with emulate.start(functions(), scaling=scaling(), faults=emulate.Faults(mem_alloc_limit_mib=32)) as server:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            request = faas.encode_request(protocols.new_invocation_id(), 2_000, 64)
            reply, rpc = faas.Faas().multicallable(channel).with_call(
                request, metadata=protocols.endpoint_metadata(SYNTH), timeout=5)
    status, error, (service_us, _, instance, _) = faas.Faas().read_reply(reply)
    trailers = dict(rpc.trailing_metadata())
    assert status == "MEM_ALLOC_FAILURE" and error.startswith("FAILURE - mem_alloc timeout - trace-func-1")
    assert (trailers[protocols.INSTANCE_TRAILER], trailers[protocols.COLD_TRAILER]) == ("trace-func-1-1", "true")
    assert service_us < COLD_MS * 1000, "no runtime, and the cold start is not the handler's"
    assert instance.startswith("trace-func-1"), "the message names the function, as trace-func-go's names its pod"
