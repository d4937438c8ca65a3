"""Several workers on one time axis: `invoker replay --shard I/N --start-at TIME` processes
against the real emulator on 127.0.0.1, merged by `loadgen report`."""

import json
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate
from invoker.cli import app as invoker_app
from invoker.dispatch import Target
from invoker.protocols import ENDPOINT_HEADER
from invoker.replay import ReplayOptions, replay
from loadcore.errors import InputError
from loadcore.loadfile import read_load
from loadcore.shards import plan_shards
from loadcore.units import format_unix_us
from loadgen.cli import app as loadgen_app

UNIT_US = 1_000_000
COUNTS = [90, 24, 18, 15, 12, 9, 6, 3]  # calls per second of f0 … f7: one function too hot for one of 3 workers
ENDPOINTS = [f"f{e}.default.example.com" for e in range(len(COUNTS))]
STAGGER_S = 1.0  # between the starts of the workers
ON_TIME_MS = 250
"""How late a shard's first call may be and still count as on the shared axis: a quarter of the
stagger, which workers on their own time axes would be off by. On a quiet 2-core machine the
server saw each function's first call 0.7-2.8 ms after t0 + its offset (first send lag
~0.1 ms); with other work on both cores (load average 7) up to ~200 ms."""


def load_units(units: int) -> list[list[tuple[int, str]]]:
    """Each function's calls evenly spaced, every function with its own phase (first calls apart)."""
    unit = sorted(((k * UNIT_US // n + 20_000 + 41_000 * e) % UNIT_US, ENDPOINTS[e])
                  for e, n in enumerate(COUNTS) for k in range(n))  # fmt: skip
    return [unit] * units


def write_load(path, units):
    path.write_text(json.dumps([{"timestamp": [t for t, _ in calls], "endpoint": [e for _, e in calls]}
                                for calls in units]))  # fmt: skip
    return path


@pytest.fixture
def arrivals(monkeypatch):
    """An emulator on 127.0.0.1 that records when (wall clock) each call for each endpoint arrives."""
    seen: list[tuple[int, str]] = []
    lookup = emulate.Emulation.function_for

    def recording(self, context, *args):
        endpoint = dict(context.invocation_metadata()).get(ENDPOINT_HEADER, "")
        seen.append((time.time_ns(), endpoint))
        return lookup(self, context, *args)

    monkeypatch.setattr(emulate.Emulation, "function_for", recording)
    function = emulate.EmulatedFunction("fast", emulate.ServiceTime([0, 100], [2.0, 2.0]))
    with emulate.start(dict.fromkeys(ENDPOINTS, function)) as server:
        yield server.port, seen


def replay_command(load, output, port, *options) -> list[str]:
    return [sys.executable, "-c", "from invoker.cli import main; main()", "replay", str(load),
            "--granularity", "second", "--warmup", "1", "--duration", "2", "--ingress", f"127.0.0.1:{port}",
            "--timeout", "5", "--output", str(output), *options]  # fmt: skip


def test_three_shards_started_a_second_apart_replay_every_call_once_on_one_time_axis(arrivals, tmp_path):
    port, seen = arrivals
    units = load_units(3)
    load = write_load(tmp_path / "load.json", units)
    start_ns = (time.time_ns() + 12 * 1_000_000_000) // 1_000_000 * 1_000_000
    start_at = format_unix_us(start_ns // 1000, 3)
    workers = []
    for index in (1, 2, 3):
        extra = ["--processes", "2"] if index == 3 else []  # one worker's children share the instant too
        command = replay_command(load, tmp_path / f"w{index}.csv", port, "--shard", f"{index}/3", "--split-hot",
                                 "--start-at", start_at, "--host-name", f"node-{index}", *extra)  # fmt: skip
        workers.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
        time.sleep(STAGGER_S)
    outputs = [worker.communicate(timeout=60)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs

    plan = plan_shards(read_load(load), 3, split_hot=True)
    files = [pd.read_csv(tmp_path / f"w{index}.csv") for index in (1, 2, 3)]  # plain CSVs, read without options
    rows = pd.concat(files)
    assert rows.invocation_id.is_unique and (rows.status == "OK").all()
    assert Counter(zip(rows.scheduled_us, rows.endpoint)) == Counter(
        (u * UNIT_US + t, e) for u, calls in enumerate(units) for t, e in calls)  # every call exactly once
    assert [len(f) for f in files] == plan.shard_calls.tolist()
    run_ids = set(rows.run_id)
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith(start_at.replace("-", "").replace(":", "")[:15])
    for index, (file, output) in enumerate(zip(files, outputs), start=1):
        assert set(file.shard) == {f"{index}/3"} and set(file.host) == {f"node-{index}"}
        assert set(file.t0_unix_us) == {start_ns // 1000}
        first = file.sort_values("scheduled_us").iloc[0]
        assert 0 <= first.lag_us < ON_TIME_MS * 1000, first  # sent when due on the shared axis
        calls = plan.shard_calls[index - 1]
        assert f"rows written to {tmp_path / f'w{index}.csv'} (t0 {format_unix_us(start_ns // 1000)})" in output
        assert (f"run {next(iter(run_ids))}, shard {index}/3 ({calls:,} of {plan.calls:,} calls; max/mean calls per "
                f"shard 1.00), host node-{index}") in output

    # What the server saw, on its own clock: each function's first call arrived just after t0 + its offset.
    first_due = rows.groupby("endpoint").scheduled_us.min()
    first_arrival = pd.DataFrame(seen, columns=["ns", "endpoint"]).groupby("endpoint").ns.min()
    late_ms = (first_arrival - start_ns - first_due * 1000) / 1e6
    assert late_ms.between(0, ON_TIME_MS).all(), late_ms.tolist()

    result = CliRunner().invoke(loadgen_app, ["report", *(str(tmp_path / f"w{i}.csv") for i in (3, 1, 2)),
                                              "--load", str(load), "--output-dir", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["warnings"] == []
    measured = summary["measured"]
    assert measured["calls"] == measured["scheduled_calls"] == 2 * sum(COUNTS) and measured["issued_fraction"] == 1.0
    workers = summary["workers"]
    assert [(w["shard"], w["host"], w["files"]) for w in workers] == [
        (f"{i}/3", f"node-{i}", [str(tmp_path / f"w{i}.csv")]) for i in (1, 2, 3)]
    for worker, file in zip(workers, files):
        measured_rows = file[file.phase == "measure"]
        assert (worker["calls"], worker["errors"], worker["warmup_calls"]) == (len(measured_rows), 0, len(file) - len(measured_rows))
        assert worker["t0_unix_us"] == start_ns // 1000 and worker["t0_offset_us"] == 0
        assert worker["run_id"] == next(iter(run_ids))
        assert worker["send_lag_us"]["max"] == measured_rows.lag_us.max()
    assert f"Workers of run {next(iter(run_ids))} (measured phase)" in result.output and "node-3" in result.output


def test_start_at_too_near_for_the_processes_to_connect_calls_the_run_off_before_any_call(arrivals, tmp_path):
    port, seen = arrivals
    load = write_load(tmp_path / "load.json", load_units(1))
    output = tmp_path / "out.csv"
    options = ReplayOptions(load=load, output=output, granularity="second", warmup=0, duration=1, processes=2,
                            target=Target(ingress=f"127.0.0.1:{port}", timeout=5),
                            start_at=time.time_ns() + 50_000_000)  # fmt: skip
    with pytest.raises(InputError, match=r"this invoker was ready [\d.]+ s after it; .* it needs at least [\d.]+ s of lead"):
        replay(options)
    assert seen == [] and len(pd.read_csv(output)) == 0


def test_bad_start_at_values_are_one_line_errors_that_leave_earlier_results_alone(tmp_path):
    load = write_load(tmp_path / "load.json", load_units(1))
    output = tmp_path / "latency.csv"
    output.write_text("results of an earlier run\n")
    for value, expected in (
        ("2020-01-01T00:00:00Z", "in the past"),
        ("+1", "only 1.0 s ahead"),
        ("2026-12-03T10:00:00", "no time zone; expected Z for UTC"),
        ("10:00", "expected an RFC 3339 time with a zone"),
        ("2026-12-03T25:00:00Z", "hour must be in 0..23"),
    ):
        result = CliRunner().invoke(invoker_app, ["replay", str(load), "--start-at", value, "--output", str(output)])
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith((f"Error: --start-at {value}:", f"Error: --start-at {value!r}:"))
        assert expected in lines[0], lines
    assert output.read_text() == "results of an earlier run\n"


def test_two_runs_of_one_load_json_are_refused_by_report_and_merged_only_when_asked(arrivals, tmp_path):
    port, _ = arrivals
    load = write_load(tmp_path / "load.json", load_units(1))
    for name in ("monday", "tuesday"):
        replay(ReplayOptions(load=load, output=tmp_path / f"{name}.csv", granularity="second", warmup=0, duration=1,
                             target=Target(ingress=f"127.0.0.1:{port}", timeout=5)))  # fmt: skip
    files = [str(tmp_path / "monday.csv"), str(tmp_path / "tuesday.csv")]
    result = CliRunner().invoke(loadgen_app, ["report", *files, "--load", str(load), "--output-dir", str(tmp_path)])
    assert result.exit_code == 2  # before run ids: exit 0, issued / scheduled 200 %
    runs = [pd.read_csv(path).run_id.iloc[0] for path in files]
    assert runs[0] != runs[1]
    assert result.output.strip().splitlines() == [
        f"Error: {files[1]}: rows of run {runs[1]!r}, but {files[0]} has run {runs[0]!r}: these are two runs, not "
        "shards of one (shards started with one --start-at, or given one --run-id, share a run id); report each run "
        "on its own, or give --allow-mixed-runs to merge them anyway"]
    mixed = CliRunner().invoke(loadgen_app, ["report", *files, "--load", str(load), "--output-dir", str(tmp_path),
                                             "--allow-mixed-runs"])  # fmt: skip
    assert mixed.exit_code == 0, mixed.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["measured"]["issued_fraction"] == 2.0
    assert f"merged 2 runs ({runs[0]}, {runs[1]}) as --allow-mixed-runs asks" in " ".join(summary["warnings"])


def test_shards_started_by_hand_with_one_run_id_are_merged_with_a_warning_that_their_t0_differ(arrivals, tmp_path):
    port, _ = arrivals
    load = write_load(tmp_path / "load.json", load_units(1))
    for index in (1, 2):
        replay(ReplayOptions(load=load, output=tmp_path / f"{index}.csv", granularity="second", warmup=0, duration=1,
                             target=Target(ingress=f"127.0.0.1:{port}", timeout=5), shard=(index, 2),
                             run_id="exp-7"))  # fmt: skip
    result = CliRunner().invoke(loadgen_app, ["report", str(tmp_path / "1.csv"), str(tmp_path / "2.csv"),
                                              "--output-dir", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [w["shard"] for w in summary["workers"]] == ["1/2", "2/2"]
    skew = summary["workers"][1]["t0_offset_us"]
    assert skew > 1_000_000  # the second started after the first one's second of calls
    warning = next(w for w in summary["warnings"] if "t0 differs" in w)
    assert warning.startswith(f"run exp-7: t0 differs by {skew / 1e6:,.3f} s between workers (shard 1/2 on ")
    assert warning.endswith("start every shard with one --start-at")
