"""invoker replay against the real emulator (`invoker.emulate`) on 127.0.0.1, in seconds."""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate
from invoker.cli import app
from invoker.emulator_process import emulator_process
from invoker.dispatch import Reporter, Target
from invoker.processes import Placement, placement, run_children, usable_cpus
from invoker.replay import ReplayOptions, load_schedule, replay
from loadcore.results import COLUMNS

FAST, FAST2, BROKEN, SLOW = "fast.default.example.com", "fast2.default.example.com", "broken.default.example.com", "slow.default.example.com"
LOCAL = "127.0.0.1"


def function(name, milliseconds):
    return emulate.EmulatedFunction(name, emulate.ServiceTime([0, 100], [milliseconds, milliseconds]))


@pytest.fixture(scope="module")
def emulator():
    functions = {FAST: function("fast", 1.0), FAST2: function("fast", 1.0), BROKEN: function("fast", 1.0),
                 SLOW: function("slow", 5000.0), LOCAL: function("fast", 1.0)}  # fmt: skip
    with emulate.start(functions, faults=emulate.Faults(fail_endpoints=frozenset({BROKEN}))) as running:
        yield running


def write_load(path, units):
    """units: list of [(offset_us, endpoint), ...]."""
    document = [{"timestamp": [t for t, _ in calls], "endpoint": [e for _, e in calls]} for calls in units]
    path.write_text(json.dumps(document))
    return path


def even_calls(endpoints, per_unit, unit_us=1_000_000):
    return [(i * unit_us // per_unit, endpoints[i % len(endpoints)]) for i in range(per_unit)]


def run(load, output, port, **options):
    options.setdefault("granularity", "second")
    target = Target(ingress=f"127.0.0.1:{port}", timeout=options.pop("timeout", 5.0))
    return replay(ReplayOptions(load=load, output=output, target=target, **options))


def read(output):
    return pd.read_csv(output, keep_default_na=False)


def test_one_row_per_scheduled_call_with_absolute_times_and_phases(emulator, tmp_path):
    units = [even_calls([FAST, FAST2], 40), [], even_calls([FAST], 25), [(999_999, FAST2)]]
    load = write_load(tmp_path / "load.json", units)
    outcome = run(load, tmp_path / "out.csv", emulator.port, warmup=1, duration=3)
    rows = read(tmp_path / "out.csv")
    assert tuple(rows.columns) == COLUMNS
    assert len(rows) == 66 == outcome.rows_written
    assert rows.invocation_id.is_unique
    expected = sorted((u, u * 1_000_000 + t, e) for u, calls in enumerate(units) for t, e in calls)
    assert sorted(zip(rows.unit, rows.scheduled_us, rows.endpoint)) == expected
    assert set(rows[rows.unit == 0].phase) == {"warmup"} and set(rows[rows.unit > 0].phase) == {"measure"}
    assert (rows.status == "OK").all()
    assert (rows.lag_us == rows.sent_us - rows.scheduled_us).all()
    assert (rows.latency_from_schedule_us == rows.lag_us + rows.latency_us).all()
    assert (rows.latency_us >= 1000).all()  # the emulated 1 ms service time is waited for
    assert (rows.service_us == 1000).all()
    summary = outcome.summary
    assert (summary.calls, summary.ok, summary.warmup_calls, summary.scheduled_calls) == (26, 26, 40, 26)


def test_refused_failing_and_hanging_endpoints_give_error_rows_and_the_timeout_is_honoured(emulator, tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST, BROKEN, SLOW], 9)])
    started = time.monotonic()
    outcome = run(load, tmp_path / "out.csv", emulator.port, warmup=0, duration=1, timeout=0.4)
    assert time.monotonic() - started < 4
    rows = read(tmp_path / "out.csv")
    status = dict(zip(rows.endpoint, rows.status))
    assert status == {FAST: "OK", BROKEN: "UNKNOWN", SLOW: "DEADLINE_EXCEEDED"}
    assert len(rows) == 9 and Counter(rows.status) == {"OK": 3, "UNKNOWN": 3, "DEADLINE_EXCEEDED": 3}
    slow = rows[rows.endpoint == SLOW]
    assert slow.latency_us.between(380_000, 1_000_000).all()
    assert (rows[rows.status != "OK"].error != "").all()
    assert outcome.summary.failures == {"UNKNOWN": 3, "DEADLINE_EXCEEDED": 3}

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    run(load, tmp_path / "dead.csv", dead_port, warmup=0, duration=1)
    dead = read(tmp_path / "dead.csv")
    assert len(dead) == 9 and set(dead.status) == {"UNAVAILABLE"}


def test_connection_per_call_still_gives_one_row_per_call(emulator, tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST, FAST2], 12)])
    result = CliRunner().invoke(app, ["replay", str(load), "--granularity", "second", "--warmup", "0", "--duration", "1",
                                      "--ingress", f"127.0.0.1:{emulator.port}", "--connection-per-call", "--quiet",
                                      "--output", str(tmp_path / "out.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read(tmp_path / "out.csv")
    assert len(rows) == 12 and (rows.status == "OK").all()


def test_shards_partition_the_load_by_function_balanced_by_calls(emulator, tmp_path):
    calls = {FAST: 7, FAST2: 3, LOCAL: 2, BROKEN: 1}  # per unit; by first appearance, 3 shards would get 8, 3, 2
    units = [sorted((k * 1_000_000 // n + 1000 * i, e) for i, (e, n) in enumerate(calls.items()) for k in range(n))] * 2
    load = write_load(tmp_path / "load.json", units)
    parts = []
    for index in (1, 2, 3):
        outcome = run(load, tmp_path / f"{index}.csv", emulator.port, warmup=0, duration=2, shard=(index, 3))
        parts.append(read(tmp_path / f"{index}.csv"))
        assert outcome.shard_calls == (14, 6, 6) and outcome.provenance.shard == f"{index}/3"
    assert [set(part.endpoint) for part in parts] == [{FAST}, {FAST2}, {LOCAL, BROKEN}]
    assert len({part.run_id.iloc[0] for part in parts}) == 3  # started one after the other, without --start-at
    together = pd.concat(parts)
    expected = sorted((u * 1_000_000 + t, e) for u, calls in enumerate(units) for t, e in calls)
    assert sorted(zip(together.scheduled_us, together.endpoint)) == expected


def test_processes_merge_their_rows_into_one_file(emulator, tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST, FAST2], 60), even_calls([FAST], 40)])
    outcome = run(load, tmp_path / "out.csv", emulator.port, warmup=1, duration=1, processes=2)
    rows = read(tmp_path / "out.csv")
    assert len(rows) == 100 and rows.invocation_id.is_unique and (rows.status == "OK").all()
    assert outcome.summary.calls == 40 and outcome.summary.warmup_calls == 60
    assert rows.lag_us.median() < 50_000  # one t0 shared by both processes


def test_placement_gives_each_event_loop_a_core_and_grpc_the_cores_left_over():
    assert placement([0, 1, 2, 3], 2) == [Placement(0, frozenset({2, 3})), Placement(1, frozenset({2, 3}))]
    assert placement([4, 6], 2) == [Placement(4, frozenset({4})), Placement(6, frozenset({6}))]
    assert placement([0], 2) == [None, None]


def test_processes_run_unpinned_where_the_os_has_no_affinity_api(monkeypatch, emulator, tmp_path):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.delattr(os, "sched_setaffinity")
    load = write_load(tmp_path / "load.json", [even_calls([FAST, FAST2], 20)])
    run(load, tmp_path / "out.csv", emulator.port, warmup=0, duration=1, processes=2)
    assert len(read(tmp_path / "out.csv")) == 20


def cpu_set(text):
    """{0, 2, 3} from a Cpus_allowed_list such as "0,2-3"."""
    cpus = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return frozenset(cpus)


def thread_cpus(pid):
    """{thread id: CPUs it may run on} of a process, {} once it has gone."""
    cpus = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/status") as status:
                allowed = next(line.split()[1] for line in status if line.startswith("Cpus_allowed_list"))
            cpus[int(tid)] = cpu_set(allowed)
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return {}
    return cpus


class Discard(Reporter):
    def rows(self, rows):
        pass


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (ValueError, OSError, IndexError):
            continue
    return found


@pytest.mark.skipif(len(usable_cpus()) < 2, reason="needs 2 CPUs: one for the event loop, one left over for gRPC")
def test_a_child_runs_its_event_loop_on_its_core_and_grpc_threads_on_the_cores_left_over(emulator, tmp_path):
    cpus = usable_cpus()
    load = write_load(tmp_path / "load.json", [even_calls([FAST], 200)] * 2)
    schedule = load_schedule(ReplayOptions(load=load, granularity="second", warmup=0, duration=2)).schedule
    seen = {}

    def watch(deadline):
        while time.monotonic() < deadline and not seen:
            for child in children_of(os.getpid()):
                threads = thread_cpus(child)
                if threads.get(child) == {cpus[0]} and len(threads) > 1:
                    seen.update(threads, child=child)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, args=(time.monotonic() + 20,), daemon=True)
    watcher.start()
    run_children(schedule, Target(ingress=f"127.0.0.1:{emulator.port}", timeout=5), 1, Discard())
    watcher.join()
    child = seen.pop("child")
    assert seen.pop(child) == {cpus[0]}, "the event-loop thread is on the child's core"
    assert frozenset(cpus[1:]) in seen.values(), f"gRPC's threads are on the cores left over: {seen}"


def test_old_vswarm_load_json_replays_with_port_appended_and_vswarm_latency_file(emulator, tmp_path):
    old = [{"timestamp": [0, 250000, 500000], "endpoint": [LOCAL, LOCAL, LOCAL]},
           {"timestamp": [100000.0, 900000.0], "endpoint": [LOCAL, LOCAL]}]  # fmt: skip
    load = tmp_path / "load.json"
    load.write_text(json.dumps(old, indent=4))
    result = CliRunner().invoke(app, ["replay", str(load), "--granularity", "second", "--warmup", "1", "--duration", "1",
                                      "--port", str(emulator.port), "--output", str(tmp_path / "out.csv"),
                                      "--vswarm-lat", str(tmp_path / "lat.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read(tmp_path / "out.csv")
    assert len(rows) == 5 and (rows.status == "OK").all()
    latencies = (tmp_path / "lat.csv").read_text().splitlines()
    measured = rows[rows.phase == "measure"]
    assert sorted(map(int, latencies)) == sorted(measured.latency_us)
    assert "Measured phase" in result.output


def test_lag_stays_bounded_at_a_modest_rate(tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST, FAST2], 300)] * 3)
    with emulator_process("--sink") as port:  # its own process: no GIL shared with the invoker
        run(load, tmp_path / "out.csv", port, warmup=1, duration=2)
    lag = read(tmp_path / "out.csv").lag_us
    assert len(lag) == 900
    p50, p99 = np.percentile(lag, [50, 99])  # bounds loose enough for a busy 2-core CI machine
    assert p50 < 5_000 and p99 < 100_000, (p50, p99)


@pytest.mark.parametrize("processes", [1, 2])
def test_sigint_mid_run_stops_issuing_and_leaves_a_complete_csv(processes, emulator, tmp_path):
    units = [even_calls([FAST, SLOW], 20)] * 10
    load = write_load(tmp_path / "load.json", units)
    output = tmp_path / "out.csv"
    command = [sys.executable, "-c", "from invoker.cli import main; main()", "replay", str(load), "--quiet",
               "--granularity", "second", "--warmup", "0", "--duration", "10", "--ingress", f"127.0.0.1:{emulator.port}",
               "--output", str(output), "--processes", str(processes)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not output.exists() or output.read_text().count("\n") < 10):
        time.sleep(0.05)  # replies are coming in (children may take a while to start)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    _, stderr = process.communicate(timeout=20)
    assert time.monotonic() - stopped < 8  # 2 s for calls in flight, then cancelled
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "stopped by SIGINT" in stderr
    rows = read(output)
    issued = len(rows)
    assert 10 <= issued < 200
    everything = sorted(u * 1_000_000 + t for u, calls in enumerate(units) for t, _ in calls)
    assert sorted(rows.scheduled_us) == everything[:issued]  # every call up to the stop, none after
    assert rows.invocation_id.is_unique
    assert set(rows[rows.endpoint == FAST].status) == {"OK"}
    assert set(rows[rows.endpoint == SLOW].status) == {"CANCELLED"}  # 5 s calls still in flight


def test_a_full_disk_leaves_a_readable_csv_and_exits_non_zero(emulator, tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST], 200)])
    output = tmp_path / "out.csv"

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    command = [sys.executable, "-c", "from invoker.cli import main; main()", "replay", str(load), "--quiet",
               "--granularity", "second", "--warmup", "0", "--duration", "1",
               "--ingress", f"127.0.0.1:{emulator.port}", "--output", str(output)]  # fmt: skip
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(command, preexec_fn=limit_file_size, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert str(output) in result.stderr and "could not be written" in result.stderr
    text = output.read_text()
    assert 0 < len(text) <= 4000 and text.endswith("\n")
    rows = read(output)
    assert 0 < len(rows) < 200 and (rows.status == "OK").all()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ('{"timestamp": []}', "expected a JSON array of units"),
        ("[]", "no units"),
        ('[{"timestamp": [1, 2], "endpoint": ["a"]}]', "unit 0: 'timestamp' has 2 entries but 'endpoint' has 1"),
        ('[{"timestamp": [], "endpoint": []}, {"endpoint": ["a"]}]', "unit 1: field 'timestamp' missing"),
        ('[{"timestamp": ["soon"], "endpoint": ["a"]}]', "unit 0 field 'timestamp': 'soon', expected µs offsets (numbers)"),
        ('[{"timestamp": [-5], "endpoint": ["a"]}]', "negative offset"),
        ('[{"timestamp": [1], "endpoint": [""]}]', "unit 0 field 'endpoint': '', expected a host name"),
        ('[{"timestamp": [1500000], "endpoint": ["a"]}]', "offset 1500000 µs is not within a second"),
    ],
)
def test_malformed_load_json_is_a_one_line_error(content, expected, tmp_path):
    load = tmp_path / "load.json"
    load.write_text(content)
    result = CliRunner().invoke(app, ["replay", str(load), "--granularity", "second", "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(load) in lines[0] and expected in lines[0]


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--shard", "0/2"], "--shard '0/2': expected I/N with 1 ≤ I ≤ N ≤ 10,000"),
        (["--shard", "1/99999999999999999999"], "--shard '1/99999999999999999999': expected I/N with 1 ≤ I ≤ N ≤ 10,000"),
        (["--shard", "half"], "--shard 'half': expected I/N, e.g. 1/4"),
        (["--shard", "1/10001"], "--shard '1/10001': expected I/N with 1 ≤ I ≤ N ≤ 10,000"),
        (["--ingress", "nohost"], "--ingress 'nohost': expected HOST:PORT, a host name or IP address (no scheme) and a port from 1 to 65535"),
        (["--timeout", "0"], "--timeout 0: expected a number of seconds above 0 and at most 86400"),
        (["--timeout", "inf"], "--timeout inf: expected a number of seconds above 0 and at most 86400"),
        (["--timeout", "nan"], "--timeout nan: expected a number of seconds above 0 and at most 86400"),
        (["--timeout", "1e10"], "--timeout 1e+10: expected a number of seconds above 0 and at most 86400"),
        (["--port", "70000"], "--port 70000: expected a TCP port from 1 to 65535"),
        (["--port", "-1"], "--port -1: expected a TCP port from 1 to 65535"),
        (["--port", "0"], "--port 0: expected a TCP port from 1 to 65535"),
        *((["--ingress", ingress], f"--ingress {ingress!r}: expected HOST:PORT, a host name or IP address (no scheme) "
                                   f"and a port from 1 to 65535")
          for ingress in ("127.0.0.1:", ":50061", "127.0.0.1:abc", "127.0.0.1:99999", "http://127.0.0.1:50061",
                          "127.0.0.1:0", "a b:1")),
        (["--split-hot"], "--split-hot: only with --shard I/N"),
        (["--run-id", "my run"], "--run-id 'my run': expected 1-128 letters, digits or ._:+- (starting with a letter or digit)"),
        *((["--host-name", name], f"--host-name {name!r}: expected a host name (letters, digits, '-' and '.', at most "
                                  "253 characters; no scheme, port or spaces)")
          for name in ("node 1", "node_1", "", "http://node", "node:80", "\x1b[2J", "x" * 254)),
    ],
)
def test_bad_options_are_one_line_errors(option, expected, tmp_path):
    load = write_load(tmp_path / "load.json", [even_calls([FAST], 2)])
    result = CliRunner().invoke(app, ["replay", str(load), "--output", str(tmp_path / "o.csv"), *option])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {expected}"]
