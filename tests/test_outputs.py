"""Output files of every command: where they cannot be written is one `Error:` line before any
work, two options never name one file, and a full disk under one output leaves the other whole."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from invoker import emulate
from invoker.cli import app as invoker_app
from invoker.dispatch import Target
from invoker.replay import ReplayOptions, replay
from loadgen.cli import app as loadgen_app

FAST = "fast.default.example.com"
FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.is_char_device(), reason="no /dev/full (a device that is always full)")


@pytest.fixture(scope="module")
def emulator():
    fast = emulate.EmulatedFunction("fast", emulate.ServiceTime([0, 100], [1.0, 1.0]))
    with emulate.start({FAST: fast}) as running:
        yield running


def load_json(path: Path, calls: int = 200) -> Path:
    path.write_text(json.dumps([{"timestamp": [i * 1_000_000 // calls for i in range(calls)], "endpoint": [FAST] * calls}]))
    return path


def replay_to(emulator, tmp_path, output, vswarm_lat):
    options = ReplayOptions(load=load_json(tmp_path / "load.json"), output=output, vswarm_lat=vswarm_lat,
                            granularity="second", warmup=0, duration=1,
                            target=Target(ingress=f"127.0.0.1:{emulator.port}", timeout=5))
    return replay(options)


@needs_dev_full
def test_a_full_disk_under_vswarm_lat_leaves_the_results_csv_whole(emulator, tmp_path):
    """Both files shared one error flag: the CSV stopped with the latency file (1,953 of 5,000 rows)."""
    outcome = replay_to(emulator, tmp_path, tmp_path / "out.csv", FULL)
    rows = pd.read_csv(tmp_path / "out.csv")
    assert len(rows) == 200 == outcome.rows_written and outcome.rows_lost == 0
    assert outcome.write_error == (f"{FULL}: No space left on device; the file ends at the last latency written in "
                                   f"full, 200 latencies could not be written")


@needs_dev_full
def test_a_full_disk_under_the_results_csv_leaves_the_vswarm_file_whole(emulator, tmp_path):
    outcome = replay_to(emulator, tmp_path, FULL, tmp_path / "lat.txt")
    assert len((tmp_path / "lat.txt").read_text().splitlines()) == 200
    assert outcome.rows_written == 0 and outcome.rows_lost == 200
    assert outcome.write_error == (f"{FULL}: No space left on device; the file ends at the last row written in full, "
                                   f"200 rows could not be written")


@needs_dev_full
def test_replay_names_the_full_file_and_exits_1(emulator, tmp_path):
    result = CliRunner().invoke(invoker_app, [
        "replay", str(load_json(tmp_path / "load.json")), "--granularity", "second", "--warmup", "0", "--duration", "1",
        "--ingress", f"127.0.0.1:{emulator.port}", "--output", str(tmp_path / "out.csv"), "--vswarm-lat", str(FULL)])
    assert result.exit_code == 1
    assert f"{FULL}: No space left on device" in result.output and "200 latencies could not be written" in result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 200


def test_vswarm_lat_may_not_be_the_results_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    load = load_json(tmp_path / "load.json")
    for args, message in (
        (["--output", "x.csv", "--vswarm-lat", "x.csv"], "--vswarm-lat x.csv: the same file as --output x.csv"),
        (["--output", str(load)], f"--output {load}: the same file as LOAD_JSON {load}"),
        (["--output", "x.csv", "--vswarm-lat", "./sub/../x.csv"], "--vswarm-lat sub/../x.csv: the same file as --output x.csv"),
    ):
        result = CliRunner().invoke(invoker_app, ["replay", str(load), *args])
        assert result.exit_code == 2
        assert result.output == f"Error: {message}; expected a file of its own\n"
    assert load.read_text().startswith("[{")


def test_generate_output_may_not_be_its_mapping_out(small_trace_workdir):
    result = CliRunner().invoke(loadgen_app, ["generate", "--trace", "trace", "--output", "both", "--mapping-out", "both"])
    assert result.exit_code == 2
    assert result.output == "Error: --output both: the same file as --mapping-out both; expected a file of its own\n"
    assert not (small_trace_workdir / "both").exists()


UNWRITABLE = Path("/sys/loadgen-test")  # permission denied even for root: stands in for a read-only file system


def cases(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    missing = tmp_path / "no-such-dir" / "x"
    generate = ["generate", "--trace", "trace", "--warmup", "0", "--duration", "1"]
    files = {
        "generate --mapping-out": (generate + ["--mapping-out"], "{}"),
        "generate --output": (generate + ["--output"], "{}"),
    }
    folders = {
        "generate --dry-run": (generate + ["--deploy", "knative", "--dry-run"], "{}"),
        "plot --output-dir": (["plot", "--trace", "trace", "--output-dir"], "{}"),
        "run --out": (["run", "--trace", "trace", "--granularity", "second", "--duration", "1", "--out"], "{}"),
    }
    yield from ((name, args, path) for name, (args, _) in files.items()
                for path in (missing, tmp_path / "a-dir", UNWRITABLE / "x"))
    yield from ((name, args, path) for name, (args, _) in folders.items()
                for path in (tmp_path / "a-file", UNWRITABLE / "x"))


def test_outputs_that_cannot_be_written_are_one_line_errors(small_trace_workdir):
    for name, args, path in cases(small_trace_workdir):
        result = CliRunner().invoke(loadgen_app, [*args, str(path)])
        assert result.exit_code == 2, (name, path, result.output)
        assert result.output.startswith(f"Error: {path}: ") and len(result.output.splitlines()) == 1, (name, result.output)


def test_report_refuses_an_output_dir_it_cannot_write_before_reading_the_results(tmp_path):
    (tmp_path / "a-file").write_text("x")
    for path in (tmp_path / "a-file", UNWRITABLE / "x"):
        result = CliRunner().invoke(loadgen_app, ["report", str(tmp_path / "not-read.csv"), "--output-dir", str(path)])
        assert result.exit_code == 2
        assert result.output.startswith(f"Error: {path}: ") and len(result.output.splitlines()) == 1


def test_emulate_port_file_in_a_missing_folder_is_one_line(tmp_path):
    result = CliRunner().invoke(invoker_app, ["emulate", "--sink", "--port-file", str(tmp_path / "no-such-dir" / "port")])
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path / 'no-such-dir' / 'port'}: cannot write, the folder {tmp_path / 'no-such-dir'} does not exist\n"
