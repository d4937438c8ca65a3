"""invoker emulate: a real gRPC server on 127.0.0.1, called by real grpc clients."""

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate, protocols
from invoker.protocols import sayhello
from invoker.cli import app
from invoker.emulator_process import emulator_process
from loadcore import mappingfile as mapping_file

PERCENTILES = (0, 1, 5, 25, 50, 75, 95, 99, 100)
PROFILE = {
    "fast": dict(zip(PERCENTILES, (1.0, 1.1, 1.2, 1.5, 2.0, 2.4, 2.8, 2.9, 3.0))),
    "steady": dict.fromkeys(PERCENTILES, 2.0),
    "slow": dict.fromkeys(PERCENTILES, 5000.0),
}
FAST, FAST2, STEADY, SLOW = (f"{name}.default.example.com" for name in ("fast-1", "fast-2", "steady-1", "slow-1"))
ROWS = [  # proxy, service, endpoint, status
    ("fast", "fast-1", FAST, "ready"),
    ("fast", "fast-2", FAST2, "ready"),
    ("steady", "steady-1", STEADY, "ready"),
    ("slow", "slow-1", SLOW, "ready"),
    ("steady", "steady-planned", "", "planned"),
    ("steady", "steady-failed", "steady-failed.default.example.com", "failed: not ready in 300 s"),
]


def write_profile(path, profile=PROFILE):
    document = {
        name: {"name": name, "yaml": f"./yamls/x/kn-{name}.yaml", "cpu": {}, "memory": {"75-percentile": 30.0},
               "duration": {f"{p}-percentile": ms for p, ms in durations.items()}}
        for name, durations in profile.items()
    }  # fmt: skip
    path.write_text(json.dumps(document))
    return path


def write_mapping(path, rows=ROWS):
    table = pd.DataFrame(
        [(f"owner{i}", "app", f"fn{i}", "http", 30.0, 2.0, proxy, 30.0, 2.0, 0.1, service, endpoint, status, "proxy", "sayhello")
         for i, (proxy, service, endpoint, status) in enumerate(rows)],
        columns=mapping_file.COLUMNS,
    )  # fmt: skip
    mapping_file.write_mapping(table, path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("emulate")
    return write_mapping(folder / "mapping.csv"), write_profile(folder / "profile.json")


@pytest.fixture(scope="module")
def functions(inputs):
    return emulate.read_functions(*inputs)


@pytest.fixture(scope="module")
def server(functions):
    with emulate.start(functions, seed=7) as running:
        yield running


def call(port, endpoint=None, authority=None, timeout=5.0):
    """One SayHello on a fresh channel; returns the reply message."""
    options = [("grpc.default_authority", authority)] if authority else []
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        request = sayhello.RequestBuilder().build(protocols.new_invocation_id(), time.time_ns())
        metadata = protocols.endpoint_metadata(endpoint) if endpoint else None
        return sayhello.reply_message(sayhello.SayHello().multicallable(channel)(request, metadata=metadata, timeout=timeout))


def calls(port, endpoint, count, timeout=5.0):
    """`count` concurrent calls to one endpoint on one channel: [(reply bytes | RpcError, seconds)]."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        say_hello, builder = sayhello.SayHello().multicallable(channel), sayhello.RequestBuilder()
        metadata = protocols.endpoint_metadata(endpoint)

        def one(_):
            started = time.perf_counter()
            try:
                outcome = say_hello(builder.build(protocols.new_invocation_id(), time.time_ns()), metadata=metadata, timeout=timeout)
            except grpc.RpcError as error:
                outcome = error
            return outcome, time.perf_counter() - started

        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(one, range(count)))


def test_dispatches_on_the_endpoint_header(server):
    assert call(server.port, FAST).startswith("fast (pid ")
    assert call(server.port, STEADY).startswith("steady (pid ")
    assert call(server.port, STEADY.upper()).startswith("steady (pid ")
    assert call(server.port, f"{STEADY}:80").startswith("steady (pid ")


def test_dispatches_on_the_authority_without_its_port_when_no_header(server):
    assert call(server.port, authority=f"{STEADY}:80").startswith("steady (pid ")
    assert call(server.port, authority=FAST).startswith("fast (pid ")
    assert call(server.port, endpoint=STEADY, authority=f"{FAST}:80").startswith("steady (pid "), "header wins"


def test_unknown_endpoint_is_not_found_naming_it(server):
    with pytest.raises(grpc.RpcError) as caught:
        call(server.port, "nope.default.example.com")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nope.default.example.com" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        call(server.port, authority="127.0.0.1:1")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "'127.0.0.1'" in caught.value.details()


def test_failed_rows_are_not_served_and_undeployed_rows_answer_to_their_service_name(server):
    with pytest.raises(grpc.RpcError) as caught:
        call(server.port, "steady-failed.default.example.com")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert call(server.port, "steady-planned").startswith("steady (pid ")


def test_service_times_stay_within_the_proxy_percentiles_and_are_waited(server):
    results = calls(server.port, FAST, 300)
    service = [sayhello.service_us(reply) for reply, _ in results]
    assert all(1000 <= us <= 3000 for us in service)
    assert 1800 <= statistics.median(service) <= 2200  # p50 of the profile is 2.0 ms
    assert len(set(service)) > 100
    assert all(seconds >= us / 1e6 for (_, seconds), us in zip(results, service))
    assert {sayhello.service_us(reply) for reply, _ in calls(server.port, STEADY, 20)} == {2000}


def test_the_reply_ends_like_the_relay_and_the_seed_makes_draws_repeat(functions):
    def sequence(seed):
        with emulate.start(functions, seed=seed) as running:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                say_hello = sayhello.SayHello().multicallable(channel)
                replies = [say_hello(b"", metadata=protocols.endpoint_metadata(FAST), timeout=5) for _ in range(30)]
        assert all(sayhello.reply_message(reply).rsplit(" | ", 1)[1].isdigit() for reply in replies)
        return [sayhello.service_us(reply) for reply in replies]

    assert sequence(1) == sequence(1) != sequence(2)


def test_draws_are_the_piecewise_linear_inverse_cdf_through_the_percentiles():
    service_time = emulate.ServiceTime([0, 25, 50, 100], [1.0, 2.0, 4.0, 8.0])
    assert service_time.draw_us(0.0) == 1000
    assert service_time.draw_us(0.125) == 1500
    assert service_time.draw_us(0.25) == 2000
    assert service_time.draw_us(0.75) == 6000
    assert service_time.draw_us(0.999999) == 8000
    assert emulate.ServiceTime([50], [3.0]).draw_us(0.9) == 3000


def test_calls_past_their_deadline_end_at_the_deadline_and_free_their_thread(functions):
    with emulate.start(functions, concurrency=1) as running:  # two of the three calls queue
        for outcome, seconds in calls(running.port, SLOW, 3, timeout=0.3):
            assert isinstance(outcome, grpc.RpcError) and outcome.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert seconds < 1.5
        started = time.perf_counter()
        assert call(running.port, FAST).startswith("fast (pid ")
        assert time.perf_counter() - started < 1.0, "the pool thread still serves an expired 5-s call"


def test_faults_fail_whole_endpoints_or_a_seeded_share_of_calls(functions):
    faults = emulate.Faults(error_rate=0.5, fail_endpoints=frozenset({FAST2}))
    with emulate.start(functions, faults=faults) as running:
        statuses = [outcome.code() for outcome, _ in calls(running.port, FAST2, 10)]
        assert statuses == [grpc.StatusCode.UNKNOWN] * 10
        failures = [isinstance(outcome, grpc.RpcError) for outcome, _ in calls(running.port, STEADY, 200)]
        assert 60 <= sum(failures) <= 140


def test_a_burst_beyond_grpc_cores_pending_backlog_waits_instead_of_being_cancelled(functions):
    """gRPC core drops calls the server has not yet picked up past 1,000 (all past 3,000) as CANCELLED."""

    async def burst(port, count):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            say_hello = sayhello.SayHello().multicallable(channel)
            metadata = protocols.endpoint_metadata(STEADY)
            outcomes = await asyncio.gather(
                *(say_hello(b"", metadata=metadata, timeout=60) for _ in range(count)), return_exceptions=True
            )
        return [outcome.code() for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]

    with emulate.start(functions) as running:
        assert asyncio.run(burst(running.port, 4000)) == []


def test_sink_answers_every_endpoint_at_once(functions):
    with emulate.start(None) as sink:
        for endpoint in (FAST, "anything.example.com"):
            assert call(sink.port, endpoint).startswith("sink (pid ")
        results = calls(sink.port, SLOW, 50)
        assert {sayhello.service_us(reply) for reply, _ in results} == {0}
        assert max(seconds for _, seconds in results) < 1.0


def test_cli_announces_the_port_and_stops_cleanly_on_sigint(inputs, tmp_path):
    mapping, profile = inputs
    port_file = tmp_path / "port"
    command = [sys.executable, "-c", "from invoker.cli import main; main()", "emulate", str(mapping),
               "--profile", str(profile), "--port-file", str(port_file)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        port = int(port_file.read_text())
        assert line == f"serving 5 functions, scaling with cold starts by memory, concurrency 1, keep-alive 60 s, on 127.0.0.1:{port}"
        assert call(port, FAST).startswith("fast (pid ")
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert process.stderr.read() == ""
    finally:
        process.kill()
        process.wait()


def test_cli_serves_from_several_processes_on_one_port(inputs):
    mapping, profile = inputs
    with emulator_process(str(mapping), "--profile", str(profile), "--processes", "2") as port:
        pids = {int(call(port, FAST).split("(pid ")[1].split(")")[0]) for _ in range(40)}
    assert len(pids) == 2
    for pid in pids:  # SIGTERM stopped the workers too
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_emulator_process_reports_why_the_emulator_did_not_start(tmp_path):
    with pytest.raises(RuntimeError, match="exited with code 2: Error: .*missing.csv: file not found"):
        with emulator_process(str(tmp_path / "missing.csv")):
            pass


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing mapping", "missing.csv: file not found"),
        ("mapping without endpoint column", "missing column 'endpoint'"),
        ("proxy not in profile", "line 2, column 'proxy': 'other' is not a proxy of"),
        ("every row failed", "every function failed to deploy"),
        ("profile not JSON", "profile.json: line 1, column 2: invalid JSON"),
        ("proxy without durations", "proxy 'fast': no duration percentiles"),
        ("sink and mapping", "exactly one of them"),
        ("neither", "exactly one of them"),
        ("unknown fail endpoint", "--fail-endpoint 'nope': not an endpoint"),
        ("port in use", "cannot listen there"),
        ("endpoint of two proxies", "line 3, column 'endpoint': 'fast-1.default.example.com' is shared by functions of "
                                    "different proxies, expected one proxy per endpoint (as --share-proxies makes)"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_code_2(case, expected, inputs, tmp_path, busy_port):
    mapping, profile = inputs
    args = [str(mapping), "--profile", str(profile)]
    if case == "missing mapping":
        args[0] = str(tmp_path / "missing.csv")
    elif case == "mapping without endpoint column":
        pd.read_csv(mapping).drop(columns="endpoint").to_csv(tmp_path / "m.csv", index=False)
        args[0] = str(tmp_path / "m.csv")
    elif case == "proxy not in profile":
        args[0] = str(write_mapping(tmp_path / "m.csv", [("other", "other-1", "o.example.com", "ready")]))
    elif case == "every row failed":
        args[0] = str(write_mapping(tmp_path / "m.csv", [("fast", "fast-1", FAST, "failed: not ready")]))
    elif case == "profile not JSON":
        (tmp_path / "profile.json").write_text("{nope")
        args[2] = str(tmp_path / "profile.json")
    elif case == "proxy without durations":
        document = json.loads(profile.read_text())
        document["fast"]["duration"] = {}
        (tmp_path / "p.json").write_text(json.dumps(document))
        args[2] = str(tmp_path / "p.json")
    elif case == "sink and mapping":
        args.append("--sink")
    elif case == "neither":
        args = ["--profile", str(profile)]
    elif case == "unknown fail endpoint":
        args += ["--fail-endpoint", "nope"]
    elif case == "port in use":
        args += ["--port", str(busy_port)]
    elif case == "endpoint of two proxies":
        args[0] = str(write_mapping(tmp_path / "m.csv", [("fast", "fast-1", FAST, "ready"), ("slow", "slow-1", FAST, "ready")]))
    result = CliRunner().invoke(app, ["emulate", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.output


def test_a_share_proxies_mapping_is_served_one_function_per_shared_endpoint(tmp_path, inputs):
    """--share-proxies gives the functions of a proxy one endpoint; emulate refused every such mapping."""
    shared = "fast-0123456789.default.example.com"
    mapping = write_mapping(tmp_path / "mapping.csv", [("fast", "fast-1", shared, "ready"), ("fast", "fast-2", shared, "ready"),
                                                       ("slow", "slow-1", SLOW, "ready")])
    functions = emulate.read_functions(mapping, inputs[1])
    assert {endpoint: f.proxy for endpoint, f in functions.items()} == {shared: "fast", SLOW: "slow"}
    with emulate.start(functions) as running:
        assert call(running.port, shared).startswith("fast (pid ")
