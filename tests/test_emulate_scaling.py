"""The emulator scales like Knative: real gRPC calls on 127.0.0.1, the instance and the cold start
read from each reply's trailing metadata, as the invoker reads them."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pandas as pd
import pytest

from invoker import emulate, protocols
from invoker.protocols import sayhello
from invoker.scaling import Policy
from loadcore.scalingfile import read_scaling

COLD_MS = 300
SERVICE_MS = 200
ENDPOINT = "steady-1.default.example.com"
OTHER = "steady-2.default.example.com"
FUNCTIONS = {
    endpoint: emulate.EmulatedFunction("steady", emulate.ServiceTime([0, 100], [SERVICE_MS, SERVICE_MS]), memory_mb=128)
    for endpoint in (ENDPOINT, OTHER)
}


def scaling(concurrency=1, keep_alive_s=60.0, max_scale=0, **options):
    return emulate.Scaling(cold_start_ms=COLD_MS, policy=Policy(concurrency, round(keep_alive_s * 1e6), max_scale), **options)


def call(port, endpoint=ENDPOINT):
    """One SayHello: (instance, cold, seconds, service_us), from the reply and its trailers."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = sayhello.RequestBuilder().build(protocols.new_invocation_id(), time.time_ns())
        started = time.perf_counter()
        reply, rpc = sayhello.SayHello().multicallable(channel).with_call(
            request, metadata=protocols.endpoint_metadata(endpoint), timeout=10
        )
        seconds = time.perf_counter() - started
    trailers = dict(rpc.trailing_metadata())
    return trailers[protocols.INSTANCE_TRAILER], trailers[protocols.COLD_TRAILER], seconds, sayhello.service_us(reply)


def together(port, count, endpoint=ENDPOINT):
    """`count` calls started at the same moment, in start order."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(port, endpoint), range(count)))


def test_the_first_call_is_cold_and_waits_out_the_cold_start():
    with emulate.start(FUNCTIONS, scaling=scaling()) as server:
        instance, cold, seconds, service_us = call(server.port)
    assert (instance, cold, service_us) == ("steady-1-1", "true", SERVICE_MS * 1000)
    assert seconds >= (COLD_MS + SERVICE_MS) / 1000


def test_the_default_cold_start_follows_the_functions_memory():
    with emulate.start(FUNCTIONS, scaling=emulate.Scaling()) as server:
        _, cold, seconds, _ = call(server.port)
    assert cold == "true" and seconds >= 1.250 + SERVICE_MS / 1000  # 128 MB: invitro's 1,250 ms


def test_a_second_call_within_the_keep_alive_is_warm_on_the_same_instance():
    with emulate.start(FUNCTIONS, scaling=scaling()) as server:
        call(server.port)
        instance, cold, seconds, _ = call(server.port)
    assert (instance, cold) == ("steady-1-1", "false")
    assert SERVICE_MS / 1000 <= seconds < (COLD_MS + SERVICE_MS) / 1000


def test_after_an_idle_gap_longer_than_the_keep_alive_the_call_is_cold_again():
    with emulate.start(FUNCTIONS, scaling=scaling(keep_alive_s=0.3)) as server:
        call(server.port)
        time.sleep(0.5)
        instance, cold, seconds, _ = call(server.port)
    assert (instance, cold) == ("steady-1-2", "true")
    assert seconds >= (COLD_MS + SERVICE_MS) / 1000


def test_with_concurrency_one_two_simultaneous_calls_make_two_instances():
    with emulate.start(FUNCTIONS, scaling=scaling()) as server:
        placed = together(server.port, 2)
        assert sorted((instance, cold) for instance, cold, _, _ in placed) == [("steady-1-1", "true"), ("steady-1-2", "true")]
        assert all(seconds >= (COLD_MS + SERVICE_MS) / 1000 for _, _, seconds, _ in placed)
        assert call(server.port, OTHER)[:2] == ("steady-2-1", "true"), "each function has its own instances"


def test_max_scale_caps_the_instances_and_queues_the_calls():
    with emulate.start(FUNCTIONS, scaling=scaling(max_scale=1)) as server:
        placed = together(server.port, 3)
    assert {instance for instance, _, _, _ in placed} == {"steady-1-1"}
    assert {cold for _, cold, _, _ in placed} == {"true"}  # all three arrived while it was starting
    waits = sorted(seconds for _, _, seconds, _ in placed)
    for position, seconds in enumerate(waits, start=1):  # one after another on the one instance
        assert seconds >= (COLD_MS + position * SERVICE_MS) / 1000


def test_unlimited_concurrency_serves_simultaneous_calls_on_one_instance():
    with emulate.start(FUNCTIONS, scaling=scaling(concurrency=0)) as server:
        placed = together(server.port, 4)
    assert {(instance, cold) for instance, cold, _, _ in placed} == {("steady-1-1", "true")}
    assert max(seconds for _, _, seconds, _ in placed) < (COLD_MS + 2 * SERVICE_MS) / 1000


def test_warm_functions_answer_at_once_from_one_named_instance():
    with emulate.start(FUNCTIONS, scaling=emulate.WARM) as server:
        placed = together(server.port, 3)
    assert {(instance, cold) for instance, cold, _, _ in placed} == {("steady-1-warm", "false")}
    assert max(seconds for _, _, seconds, _ in placed) < (COLD_MS + SERVICE_MS) / 1000


def test_the_instance_counts_go_to_scaling_csv(tmp_path):
    output = tmp_path / "scaling.csv"
    with emulate.start(FUNCTIONS, scaling=scaling(keep_alive_s=0.2, output=output)) as server:
        call(server.port)
        time.sleep(0.5 + emulate.SCALING_FLUSH_S)
        assert len(read_scaling(output)) == 5, "rows are written while the emulator runs"
    rows = read_scaling(output)
    steady = rows[rows.function == "steady-1"]
    assert steady[["ready", "pending", "terminating", "created", "deleted"]].values.tolist() == [
        [0, 0, 0, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 1, 0], [0, 0, 0, 1, 1],
    ]  # fmt: skip
    times = steady["time_us"].tolist()
    assert times[2] - times[1] == COLD_MS * 1000  # the model's times are exact
    assert times[3] - times[2] == SERVICE_MS * 1000 + 200_000  # idle from the calls' end for the keep-alive
    assert abs(times[0] / 1e6 - time.time()) < 30, "Unix time"
    assert rows[rows.function == "steady-2"][["ready", "created"]].values.tolist() == [[0, 0]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--warm", "--cold-start-ms", "10"], "--cold-start-ms: only when functions scale (not with --warm)"),
        (["--warm", "--max-scale", "3", "--keep-alive", "5"], "--keep-alive, --max-scale: only when functions scale (not with --warm)"),
        (["--processes", "2", "--scaling-out", "s.csv"], "--scaling-out: only with --processes 1 (each process scales its own instances)"),
        (["--scaling-out", "/nonexistent/s.csv"], "/nonexistent/s.csv: cannot write, the folder /nonexistent does not exist"),
    ],
)
def test_scaling_options_that_would_do_nothing_are_one_line_errors(args, message, tmp_path):
    from typer.testing import CliRunner

    from invoker.cli import app
    from test_emulate import write_mapping, write_profile

    mapping, profile = write_mapping(tmp_path / "mapping.csv"), write_profile(tmp_path / "profile.json")
    result = CliRunner().invoke(app, ["emulate", str(mapping), "--profile", str(profile), *args])
    assert (result.exit_code, result.output) == (2, f"Error: {message}\n")


def test_scaling_out_onto_the_mapping_is_refused_before_it_destroys_it(tmp_path):
    from typer.testing import CliRunner

    from invoker.cli import app
    from test_emulate import write_mapping, write_profile

    mapping, profile = write_mapping(tmp_path / "mapping.csv"), write_profile(tmp_path / "profile.json")
    before = mapping.read_bytes()
    result = CliRunner().invoke(app, ["emulate", str(mapping), "--profile", str(profile), "--scaling-out", str(mapping)])
    assert (result.exit_code, result.output) == (
        2, f"Error: --scaling-out {mapping}: the same file as MAPPING {mapping}; expected a file of its own\n")
    assert mapping.read_bytes() == before

def test_the_invoker_records_each_calls_instance_and_cold_start(tmp_path):
    from typer.testing import CliRunner

    from invoker.cli import app
    from loadcore.units import parse_unix_us

    load = tmp_path / "load.json"
    load.write_text(json.dumps([{"timestamp": [0, 0], "endpoint": [ENDPOINT, ENDPOINT]},
                                {"timestamp": [500_000], "endpoint": [ENDPOINT]}]))
    with emulate.start(FUNCTIONS, scaling=scaling()) as server:
        started_us = time.time_ns() // 1000
        result = CliRunner().invoke(app, ["replay", str(load), "--granularity", "second", "--warmup", "0", "--duration", "2",
                                          "--ingress", f"127.0.0.1:{server.port}", "--output", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, dtype={"cold": str})
    rows = rows.sort_values("scheduled_us", kind="stable")
    assert sorted(zip(rows.instance.iloc[:2], rows.cold.iloc[:2])) == [("steady-1-1", "true"), ("steady-1-2", "true")]
    assert (rows.instance.iloc[2], rows.cold.iloc[2]) == ("steady-1-1", "false")
    assert (rows.latency_us.iloc[:2] >= (COLD_MS + SERVICE_MS) * 1000).all()
    assert "cold calls (paid a cold start) │ 2 (66.7%)" in result.output
    t0 = parse_unix_us(result.output.split("(t0 ")[1].split(")")[0], "t0")
    assert started_us <= t0 <= started_us + 5_000_000
