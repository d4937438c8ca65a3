"""`loadgen generate` through Typer's CliRunner: outputs, printed summary, bad input -> exit 2."""

import json
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from loadcore import shipped
from loadgen.cli import app
from loadcore.mappingfile import read_mapping
from loadgen.traces import read_trace
from tracefiles import trace_rows

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_use_the_shipped_trace_and_write_both_files(workdir):
    result = runner.invoke(app, ["generate"])
    assert result.exit_code == 0, result.output
    assert "mapping (p75, closest, synthetic fallback): mapped 198 functions to 78 distinct proxies; " in result.output
    assert "; 52 functions to the synthetic function (closest proxy farther than --max-distance 1: " in result.output
    assert "22 minutes (columns 540-561, 2 warm-up), 53605 invocations" in result.output
    assert "seed 42" in result.output
    mapping = read_mapping(workdir / "mapping.csv")
    assert (mapping["status"] == "planned").all() and (mapping["kind"] == "synthetic").sum() == 52
    assert (mapping["endpoint"] == mapping["service"] + ".default.127.0.0.1.sslip.io").all()
    units = json.loads((workdir / "load.json").read_text())
    expected = read_trace(shipped.trace_dir()).counts[:, :22].sum(axis=0)
    assert [len(u["timestamp"]) for u in units] == expected.tolist()
    assert set(units[0]["endpoint"]) <= set(mapping["endpoint"])


def test_one_unit_is_counted_in_the_singular(workdir):
    result = runner.invoke(app, ["generate", "--warmup", "0", "--duration", "1"])
    assert result.exit_code == 0, result.output
    assert "wrote load.json: 1 minute (columns 540-540, 0 warm-up)" in result.output


def test_window_options_and_seed_give_byte_identical_output(workdir):
    args = ["generate", "--start", "100", "--warmup", "0", "--duration", "3", "--iat", "uniform", "--seed", "5",
            "--namespace", "ns", "--domain", "example.com", "--unique", "--percentile", "50"]  # fmt: skip
    first = runner.invoke(app, [*args, "--output", "a.json"])
    second = runner.invoke(app, [*args, "--output", "b.json", "--mapping-out", "b.csv"])
    assert first.exit_code == second.exit_code == 0, first.output
    assert (workdir / "a.json").read_bytes() == (workdir / "b.json").read_bytes()
    assert (workdir / "mapping.csv").read_bytes() == (workdir / "b.csv").read_bytes()
    assert "columns 640-642, 0 warm-up" in first.output and "mapping (p50, unique, synthetic fallback)" in first.output
    assert read_mapping(workdir / "b.csv")["endpoint"].str.endswith(".ns.example.com").all()


def test_functions_missing_from_a_file_warn_and_strict_fails(workdir):
    rows = trace_rows([[1, 2, 3], [4, 5, 6]])
    del rows.durations[1]
    trace = rows.write(workdir / "trace")
    window = ["--warmup", "1", "--duration", "2"]
    result = runner.invoke(app, ["generate", "--trace", str(trace), *window])
    assert result.exit_code == 0, result.output
    assert "warning: skipped 1 functions of invocations.csv missing from durations.csv" in result.output
    assert "15 invocations" in result.output
    strict = runner.invoke(app, ["generate", "--trace", str(trace), *window, "--strict"])
    assert strict.exit_code == 2
    assert "is missing from" in strict.output and "Traceback" not in strict.output


WHOLE = ["--warmup", "0", "--duration", "3"]  # only the window's count columns are read


@pytest.mark.parametrize(
    "edit, args, message",
    [
        (lambda r: r.invocations[1].__setitem__(5, "x"), WHOLE, "invocations.csv: line 2, column '2': 'x' is not a number"),
        (lambda r: r.memory[1].pop(), WHOLE, "memory.csv: line 2: 12 fields, expected 13 like the header"),
        (lambda r: None, ["--duration", "3"], "the window --start 0 + --warmup 2 + --duration 3 = 5 minutes, but the trace has only 3"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(workdir, edit, args, message):
    rows = trace_rows([[1, 2, 3], [4, 5, 6]])
    edit(rows)
    result = runner.invoke(app, ["generate", "--trace", str(rows.write(workdir / "trace")), *args])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1
    assert not (workdir / "load.json").exists() and not (workdir / "mapping.csv").exists()


@pytest.mark.parametrize("args", [["--iat", "poisson"], ["--percentile", "90"], ["--deploy", "cloud"], ["--seed", "-1"]])
def test_invalid_option_values_exit_2(workdir, args):
    result = runner.invoke(app, ["generate", *args])
    assert result.exit_code == 2
    assert not (workdir / "load.json").exists()


def test_missing_profile_exits_2(workdir):
    result = runner.invoke(app, ["generate", "--profile", "nope.json"])
    assert result.exit_code == 2 and "nope.json: file not found" in result.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_while_writing_load_json_leaves_no_partial_file(workdir, signum):
    """SIGTERM during generate left a 763 MB load.json.partial behind."""
    trace_rows([[20_000] * 60] * 4).write(workdir / "trace")
    command = [sys.executable, "-c", "from loadgen.cli import main; main()", "generate", "--trace", "trace",
               "--warmup", "0", "--duration", "60"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    partial = workdir / "load.json.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert stderr.endswith(f"stopped by {signal.Signals(signum).name}\n")
    assert not partial.exists() and not (workdir / "load.json").exists()
