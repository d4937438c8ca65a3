"""How a replay ends when it is cut short: SIGHUP (an ssh session to the worker dropping) like
SIGTERM, and `--processes` children that die mid-run or before they are ready. Every issued
call that came back keeps its row, the file stays complete, and the summary is printed."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate
from invoker.cli import app
from invoker.dispatch import Reporter, Target
from invoker.processes import run_children
from invoker.replay import ReplayOptions, load_schedule

FAST, SLOW = "fast.default.example.com", "slow.default.example.com"


@pytest.fixture(scope="module")
def emulator():
    def function(milliseconds):
        return emulate.EmulatedFunction("f", emulate.ServiceTime([0, 100], [milliseconds, milliseconds]))

    with emulate.start({FAST: function(1.0), SLOW: function(5000.0)}) as running:
        yield running


def write_load(path, seconds=10, per_second=20):
    units = [{"timestamp": [i * 1_000_000 // per_second for i in range(per_second)],
              "endpoint": [(FAST, SLOW)[i % 2] for i in range(per_second)]} for _ in range(seconds)]
    path.write_text(json.dumps(units))
    return path


def replay_command(load, output, port, processes, duration=10, *extra):
    return [sys.executable, "-c", "from invoker.cli import main; main()", "replay", str(load), *extra,
            "--granularity", "second", "--warmup", "0", "--duration", str(duration), "--ingress", f"127.0.0.1:{port}",
            "--output", str(output), "--processes", str(processes)]  # fmt: skip


def wait_for_rows(output, rows, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (not output.exists() or output.read_text().count("\n") < rows):
        time.sleep(0.05)


@pytest.mark.parametrize("processes, whole_group", [(1, False), (2, False), (2, True)])
def test_sighup_stops_like_sigterm_and_leaves_a_row_for_every_issued_call(emulator, tmp_path, processes, whole_group):
    """SIGHUP killed replay (exit 129) without rows for queued and in-flight calls. An ssh drop
    sends it to the whole process group, children included."""
    load, output = write_load(tmp_path / "load.json"), tmp_path / "out.csv"
    process = subprocess.Popen(replay_command(load, output, emulator.port, processes, 10, "--quiet"),
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_rows(output, 10)
    time.sleep(0.5)
    if whole_group:
        os.killpg(process.pid, signal.SIGHUP)
    else:
        process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 128 + signal.SIGHUP, stderr
    assert "stopped by SIGHUP" in stderr
    rows = pd.read_csv(output, keep_default_na=False)
    assert 10 <= len(rows) < 200 and rows.invocation_id.is_unique
    assert set(rows[rows.endpoint == FAST].status) == {"OK"}
    assert set(rows[rows.endpoint == SLOW].status) == {"CANCELLED"}  # 5 s calls in flight still get their rows


class Collect(Reporter):
    def __init__(self):
        self.collected = []

    def rows(self, rows):
        self.collected.extend(rows)


def options(load, port):
    return ReplayOptions(load=load, output=None, granularity="second", warmup=0, duration=10,
                         target=Target(ingress=f"127.0.0.1:{port}", timeout=30))


def test_a_child_killed_mid_run_leaves_its_rows_and_the_others_run_to_the_end(emulator, tmp_path):
    schedule = load_schedule(options(write_load(tmp_path / "load.json", seconds=2, per_second=40), emulator.port)).schedule
    sink = Collect()
    first_rows = threading.Event()

    def kill_one_child():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(sink.collected) < 10:
            time.sleep(0.02)
        victim = multiprocessing.active_children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        first_rows.set()

    killer = threading.Thread(target=kill_one_child)
    killer.start()
    fast_only = replace(schedule, endpoint_index=schedule.endpoint_index * 0)  # every call to FAST
    result = run_children(fast_only, Target(ingress=f"127.0.0.1:{emulator.port}", timeout=30), 2, sink)
    killer.join()
    rows = sink.collected
    assert first_rows.is_set() and result.signal is None
    assert len(result.failures) == 1
    assert "was killed by SIGKILL mid-run: its " in result.failures[0] and " calls have no row" in result.failures[0]
    survivors = len(schedule) // 2
    assert survivors <= len(rows) < len(schedule)  # the other child sent every one of its 40 calls
    assert len({row.invocation_id for row in rows}) == len(rows)


def test_a_child_failing_before_it_is_ready_ends_the_run_with_no_call_sent(emulator, tmp_path):
    schedule = load_schedule(options(write_load(tmp_path / "load.json", seconds=1), emulator.port)).schedule
    broken = replace(schedule, protocols=("no-such-protocol",) * len(schedule.protocols))
    sink = Collect()
    result = run_children(broken, Target(ingress=f"127.0.0.1:{emulator.port}"), 2, sink)
    assert sink.collected == []
    assert len(result.failures) == 1
    assert " exited with code 1 before it was ready; no call was sent" in result.failures[0]


def test_replay_prints_its_summary_and_names_the_dead_child(emulator, tmp_path):
    load, output = write_load(tmp_path / "load.json", seconds=3, per_second=20), tmp_path / "out.csv"
    process = subprocess.Popen(replay_command(load, output, emulator.port, 2, 3), stderr=subprocess.PIPE, text=True)
    wait_for_rows(output, 5)
    children = subprocess.run(["pgrep", "-P", str(process.pid), "-f", "spawn_main"], capture_output=True, text=True).stdout.split()
    os.kill(int(children[-1]), signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "was killed by SIGKILL mid-run" in stderr
    assert "rows written to" in stderr  # the summary came after all
    rows = pd.read_csv(output, keep_default_na=False)
    assert 5 <= len(rows) < 60 and rows.invocation_id.is_unique


@pytest.mark.parametrize("processes", ["0", "100000"])
def test_processes_are_capped(tmp_path, processes):
    """--processes 100000 spawned 121 children and took 4 GB in 9 s."""
    result = CliRunner().invoke(app, ["replay", str(write_load(tmp_path / "load.json")), "--processes", processes])
    assert result.exit_code == 2
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert result.output == (f"Error: --processes {processes}: expected 1 to {4 * cpus} on this "
                             f"machine (4 per usable CPU; each process wants a core of its own)\n")
