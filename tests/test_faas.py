"""Synthetic functions on the wire: invoker emulate's faas.Executor and mixed replays against it
on 127.0.0.1 (proxies and synthetic functions in one load.json, one run)."""

import resource
import time

import grpc
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate, faas_pb2, protocols
from invoker.cli import app
from invoker.dispatch import Target
from invoker.protocols import faas, sayhello
from invoker.replay import ReplayOptions, replay
from loadcore.loadfile import ABSENT, LoadWriter
from loadcore.results import NO_VALUE, ResultsChunks

PROXY, PROXY2 = "fib-1.default.example.com", "fib-2.default.example.com"
SYNTH, SYNTH2 = "trace-func-1.default.example.com", "trace-func-2.default.example.com"
ENDPOINTS = [PROXY, PROXY2, SYNTH, SYNTH2]


def functions():
    proxy = emulate.EmulatedFunction("fib", emulate.ServiceTime([0, 100], [2.0, 2.0]))
    synthetic = {endpoint: emulate.EmulatedFunction(endpoint.split(".")[0], None, faas.Faas.name) for endpoint in (SYNTH, SYNTH2)}
    return {PROXY: proxy, PROXY2: proxy, **synthetic}


@pytest.fixture(scope="module")
def server():
    """Always warm: these tests are about the protocol (tests/test_synthetic_scaling.py scales)."""
    with emulate.start(functions(), scaling=emulate.WARM, faults=emulate.Faults(mem_alloc_limit_mib=4096)) as running:
        yield running


def execute(port, endpoint, runtime_ms, memory_mib, timeout=5.0):
    """One Execute on a fresh channel: (message, durationInMicroSec, memoryUsageInKb, seconds)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = faas.encode_request(protocols.new_invocation_id(), runtime_ms, memory_mib)
        started = time.perf_counter()
        reply = faas.Faas().multicallable(channel)(request, metadata=protocols.endpoint_metadata(endpoint), timeout=timeout)
        decoded = faas_pb2.FaasReply.FromString(reply)
        return decoded.message, decoded.durationInMicroSec, decoded.memoryUsageInKb, time.perf_counter() - started


def test_execute_runs_for_the_requested_runtime_and_replies_like_trace_func_go(server):
    message, duration_us, memory_kb, seconds = execute(server.port, SYNTH, 150, 256)
    assert message.startswith("OK - trace-func-1 (pid ")
    assert 150_000 <= duration_us < 400_000 and seconds >= 0.150
    assert memory_kb == 256 * 1024


def test_memory_beyond_the_limit_is_an_allocation_failure_reply_at_once(server):
    message, duration_us, memory_kb, seconds = execute(server.port, SYNTH, 2_000, 8192)
    assert message.startswith("FAILURE - mem_alloc timeout - trace-func-1") and seconds < 1.0
    assert memory_kb == 8192 * 1024


def test_each_function_answers_only_its_own_protocol_and_a_zero_runtime_is_refused(server):
    with pytest.raises(grpc.RpcError) as caught:
        execute(server.port, PROXY, 10, 10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == f"endpoint {PROXY!r} serves /helloworld.Greeter/SayHello, not /faas.Executor/Execute"
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        request = sayhello.RequestBuilder().build(protocols.new_invocation_id(), time.time_ns())
        with pytest.raises(grpc.RpcError) as caught:
            sayhello.SayHello().multicallable(channel)(request, metadata=protocols.endpoint_metadata(SYNTH), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED and "serves /faas.Executor/Execute" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        execute(server.port, SYNTH, 0, 10)
    assert caught.value.code() == grpc.StatusCode.UNKNOWN and caught.value.details() == "non-positive execution time"


def test_busy_spins_on_a_cpu_for_the_runtime():
    with emulate.start(functions(), busy=True) as running:
        before = resource.getrusage(resource.RUSAGE_SELF)
        message, duration_us, _, seconds = execute(running.port, SYNTH, 300, 1)
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert message.startswith("OK - ") and duration_us >= 300_000 and seconds >= 0.3
    assert cpu >= 0.28, f"the call used {cpu:.3f} s of CPU"


def test_the_sink_answers_both_protocols_at_once():
    with emulate.start(None) as sink:
        message, duration_us, memory_kb, seconds = execute(sink.port, SYNTH, 5_000, 3)
    assert message.startswith("OK - sink (pid ") and duration_us == 0 and memory_kb == 3 * 1024 and seconds < 1


def mixed_load(path, units: int = 2, per_unit: int = 40, runtimes=(5, 40, 120), memory=None, unit_us=1_000_000):
    """`units` units of `per_unit` calls spread evenly, cycling over ENDPOINTS; synthetic calls
    cycle over `runtimes` (ms) with memory `memory[runtime]` MiB (default 10 x runtime)."""
    cycle = 0
    with LoadWriter(path, ENDPOINTS) as writer:
        for _ in range(units):
            offsets = np.arange(per_unit, dtype=np.int64) * (unit_us // per_unit)
            functions = np.arange(per_unit, dtype=np.int64) % len(ENDPOINTS)
            runtime = np.full(per_unit, ABSENT, dtype=np.int64)
            for call in np.flatnonzero(functions >= 2):
                runtime[call] = runtimes[cycle % len(runtimes)]
                cycle += 1
            mib = np.array([ABSENT if r == ABSENT else (memory or {}).get(r, 10 * r) for r in runtime.tolist()])
            writer.write_unit(offsets, functions, {"runtime_ms": runtime, "memory_mib": mib})
    return path


def rows(path):
    return pd.concat(list(ResultsChunks(path)), ignore_index=True)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_mixed_replay_gives_ok_rows_of_both_protocols_with_the_requested_runtimes_honoured(server, tmp_path, processes):
    load = mixed_load(tmp_path / "load.json")
    outcome = replay(ReplayOptions(load=load, output=tmp_path / "latency.csv", granularity="second", warmup=0, duration=2,
                                   target=Target(ingress=f"127.0.0.1:{server.port}", timeout=5), processes=processes))
    table = rows(tmp_path / "latency.csv")
    assert len(table) == 80 == outcome.summary.ok and (table["status"] == "OK").all()
    synthetic = table["endpoint"].isin([SYNTH, SYNTH2]).to_numpy()
    assert synthetic.sum() == 40
    runtime_us = table["requested_runtime_ms"][synthetic] * 1000
    assert sorted(table["requested_runtime_ms"][synthetic].astype(int).unique()) == [5, 40, 120]
    assert (table["latency_us"][synthetic] >= runtime_us).all()
    assert (table["service_us"][synthetic] >= runtime_us).all()
    assert (table["memory_usage_kb"][synthetic] == table["requested_memory_mib"][synthetic] * 1024).all()
    proxy = table[~synthetic]
    assert (proxy["service_us"] == 2000).all() and (proxy["latency_us"] >= 2000).all()
    for column in ("requested_runtime_ms", "requested_memory_mib", "memory_usage_kb"):
        assert proxy[column].isna().all(), column


def test_mixed_replay_through_the_cli_with_shards_timeouts_and_allocation_failures(server, tmp_path):
    load = mixed_load(tmp_path / "load.json", units=1, per_unit=20, runtimes=(30, 3_000, 500),
                      memory={30: 300, 3_000: 100, 500: 5_000})
    out = []
    for index in (1, 2):
        path = tmp_path / f"shard{index}.csv"
        result = CliRunner().invoke(app, ["replay", str(load), "--ingress", f"127.0.0.1:{server.port}", "--granularity",
                                          "second", "--warmup", "0", "--duration", "1", "--timeout", "1.5", "--shard",
                                          f"{index}/2", "--output", str(path), "--quiet"])
        assert result.exit_code == 0, result.output
        out.append(rows(path))
    # shard 1 takes endpoints 1 and 3 (PROXY, SYNTH), shard 2 takes PROXY2 and SYNTH2
    assert set(out[0]["endpoint"]) == {PROXY, SYNTH} and set(out[1]["endpoint"]) == {PROXY2, SYNTH2}
    table = pd.concat(out, ignore_index=True)
    assert len(table) == 20
    synthetic = table[table["requested_runtime_ms"].notna()]
    statuses = synthetic.groupby("requested_runtime_ms")["status"].agg(set).to_dict()
    # 3 s is past the 1.5 s deadline; 500 ms asks for 5,000 MiB, past the emulator's 4,096 MiB limit
    assert statuses == {30.0: {"OK"}, 500.0: {"MEM_ALLOC_FAILURE"}, 3000.0: {"DEADLINE_EXCEEDED"}}
    failed = synthetic[synthetic["status"] == "MEM_ALLOC_FAILURE"]
    assert failed["error"].str.startswith("FAILURE - mem_alloc timeout - ").all()
    late = synthetic[synthetic["status"] == "DEADLINE_EXCEEDED"]
    assert (late["requested_memory_mib"] == 100).all() and late["service_us"].isna().all()
    assert "synthetic calls ask for a runtime of --timeout" in CliRunner().invoke(
        app, ["replay", str(load), "--ingress", f"127.0.0.1:{server.port}", "--granularity", "second", "--warmup", "0",
              "--duration", "1", "--timeout", "1.5", "--output", str(tmp_path / "all.csv")]).output


def test_read_functions_serves_synthetic_rows_without_a_profile_entry(tmp_path):
    from loadcore.mappingfile import COLUMNS, write_mapping

    table = pd.DataFrame([
        ("o", "a", "f1", "http", 30.0, 2.0, "fast", 30.0, 2.0, 0.1, "fast-1", PROXY, "ready", "proxy", "sayhello"),
        ("o", "a", "f2", "http", 30.0, 2.0, "not-in-profile", 30.0, 2.0, 3.0, "trace-func-1", SYNTH, "ready", "synthetic",
         "faas"),
    ], columns=COLUMNS)  # fmt: skip
    write_mapping(table, tmp_path / "mapping.csv")
    profile = tmp_path / "profile.json"
    profile.write_text('{"fast": {"name": "fast", "yaml": "x.yaml", "cpu": {}, "memory": {"75-percentile": 30.0},'
                       ' "duration": {"50-percentile": 2.0, "75-percentile": 2.0}}}')
    served = emulate.read_functions(tmp_path / "mapping.csv", profile)
    assert served[SYNTH] == emulate.EmulatedFunction("trace-func-1", None, "faas", memory_mb=30.0)
    assert served[PROXY].protocol == "sayhello" and served[PROXY].service_time is not None


OLD_HEADER = ("unit,phase,endpoint,invocation_id,scheduled_us,sent_us,lag_us,latency_us,latency_from_schedule_us,status,"
              "error,service_us")


@pytest.mark.parametrize("extra_header, extra_values, read", [
    ("", "", {}),  # the original 12 columns
    (",memory_usage_kb,requested_runtime_ms,requested_memory_mib", ",2048,30,2",  # synthetic functions, before cold starts
     {"memory_usage_kb": 2048.0, "requested_runtime_ms": 30.0, "requested_memory_mib": 2.0}),
    (",instance,cold", ",trace-func-1-1,true", {"instance": "trace-func-1-1", "cold": "true"}),  # cold starts alone
])  # fmt: skip
def test_results_files_of_every_earlier_layout_read_with_the_missing_columns_empty(tmp_path, extra_header, extra_values,
                                                                                   read):
    old = tmp_path / "old.csv"
    old.write_text(f"{OLD_HEADER}{extra_header}\n0,measure,a.b,id-1,5,6,1,10,11,OK,,9{extra_values}\n")
    (table,) = ResultsChunks(old)
    assert table["service_us"].tolist() == [9.0]
    for column in ("memory_usage_kb", "requested_runtime_ms", "requested_memory_mib"):
        assert table[column].tolist() == [read[column]] if column in read else table[column].isna().all(), column
    for column in ("instance", "cold"):
        assert table[column].tolist() == [read.get(column, NO_VALUE)], column
    assert NO_VALUE == ""


@pytest.mark.parametrize("args, message", [
    (["--sink", "--busy"], "--error-rate, --fail-endpoint, --busy and --mem-alloc-limit need a MAPPING"),
    (["--sink", "--mem-alloc-limit", "10"], "need a MAPPING"),
])  # fmt: skip
def test_emulator_options_for_synthetic_functions_need_a_mapping(args, message):
    result = CliRunner().invoke(app, ["emulate", *args])
    assert result.exit_code == 2 and message in result.output


def test_the_results_columns_name_the_reply_the_load_json_payload_and_the_provenance_in_row_order():
    from loadcore.loadfile import PAYLOAD_FIELDS
    from loadcore.results import COLUMNS, PAYLOAD_COLUMNS, PROVENANCE_COLUMNS, REPLY_COLUMNS, REQUIRED_COLUMNS, Provenance

    assert PAYLOAD_COLUMNS == tuple(f"requested_{name}" for name in PAYLOAD_FIELDS)
    assert COLUMNS == (*REQUIRED_COLUMNS[:-1], *REPLY_COLUMNS, *PAYLOAD_COLUMNS, *PROVENANCE_COLUMNS)
    assert REQUIRED_COLUMNS[-1] == REPLY_COLUMNS[0] and Provenance._fields == PROVENANCE_COLUMNS


def test_bad_synthetic_inputs_are_one_line_errors_with_exit_code_2(tmp_path, small_trace_workdir):
    from loadgen.cli import app as loadgen_app

    mixed = tmp_path / "mixed.json"
    mixed.write_text('[{"timestamp": [1, 2], "endpoint": ["a.x", "a.x"], "runtime_ms": [5, null]}]')
    replayed = CliRunner().invoke(app, ["replay", str(mixed), "--output", str(tmp_path / "out.csv")])
    assert replayed.exit_code == 2
    assert replayed.output == (f"Error: {mixed}: endpoint 'a.x': a call in unit 0 carries 'runtime_ms' but a call in unit 0 "
                               "does not; expected every call of an endpoint to carry one (a synthetic function) or none "
                               "(a proxy)\n")
    assert CliRunner().invoke(loadgen_app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "2"]).exit_code == 0
    mapping = small_trace_workdir / "mapping.csv"
    mapping.write_text(mapping.read_text().replace(",proxy,sayhello", ",proxy,faas", 1))
    emulated = CliRunner().invoke(app, ["emulate", str(mapping)])
    assert emulated.exit_code == 2
    assert emulated.output == (f"Error: {mapping}: line 2, column 'protocol': 'faas', expected 'sayhello' for a proxy "
                               "function\n")
    ran = CliRunner().invoke(loadgen_app, ["run", "--trace", "trace", "--synthetic-image", "registry.example.com/x:1"])
    assert ran.exit_code == 2 and ran.output == "Error: --synthetic-image: only with --deploy knative\n"
    for args in (["--synthetic", "sometimes"], ["--fallback-rule", "vswarm"], ["--max-runtime-ms", "0"]):
        refused = CliRunner().invoke(loadgen_app, ["generate", "--trace", "trace", *args])
        assert refused.exit_code == 2 and "Traceback" not in refused.output, args


def test_faults_fail_synthetic_calls_too():
    with emulate.start(functions(), faults=emulate.Faults(error_rate=1.0)) as failing:
        with pytest.raises(grpc.RpcError) as caught:
            execute(failing.port, SYNTH, 10, 1)
    assert caught.value.code() == grpc.StatusCode.UNKNOWN and caught.value.details() == emulate.FAILURE_DETAIL
