"""`loadgen generate` on every layout: `--iat trace` puts the 2021 calls at their own µs,
`--rate-scale` rounds counts stochastically, and the trace options reach the summary."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from loadcore.mappingfile import read_mapping
from loadgen.cli import app
from tracefiles import invitro2022_rows, official_day, trace_rows, write_calls

runner = CliRunner()
MINUTE_US = 60_000_000


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _calls(seed=3, n=400):
    """Calls of 6 functions over 4 minutes, µs-exact decimals, a few sharing a start."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 4 * MINUTE_US, n)
    starts[:3] = starts[3]
    durations = rng.integers(0, 2_000_000, n)
    keys = [(f"app{i % 2}", f"f{i % 3}") for i in rng.integers(0, 6, n)]
    rows = [(a, f, f"{(s + d) / 1e6:.6f}", f"{d / 1e6:.6f}") for (a, f), s, d in zip(keys, starts, durations)]
    return rows, starts, keys


def _generate(*args):
    result = runner.invoke(app, ["generate", *args])
    assert result.exit_code == 0, result.output
    return result.output, json.loads(open("load.json").read())


def test_iat_trace_places_every_2021_call_at_its_start(workdir):
    rows, starts, keys = _calls()
    write_calls(workdir / "calls.csv", rows)
    output, units = _generate("--trace", "calls.csv", "--start", "1", "--warmup", "1", "--duration", "2")
    assert "iat trace, seed 42" in output
    assert "trace: the trace has no memory: 200 MB for every function (--memory-mb)" in output
    mapping = read_mapping(workdir / "mapping.csv")
    endpoint = {(a, f): e for a, f, e in zip(mapping["HashApp"], mapping["HashFunction"], mapping["endpoint"])}
    assert (mapping["Trigger"] == "").all()
    assert len(units) == 3
    for k, unit in enumerate(units):
        begin = (1 + k) * MINUTE_US
        expected = sorted((s - begin, endpoint[key]) for s, key in zip(starts, keys) if begin <= s < begin + MINUTE_US)
        got = list(zip(unit["timestamp"], unit["endpoint"]))
        assert sorted(got) == expected
        assert unit["timestamp"] == sorted(unit["timestamp"])


def test_synthetic_iats_of_a_2021_trace_keep_its_counts(workdir):
    rows, starts, _ = _calls()
    write_calls(workdir / "calls.csv", rows)
    output, units = _generate("--trace", "calls.csv", "--warmup", "0", "--duration", "4", "--iat", "uniform")
    assert "iat uniform, shift" in output
    assert [len(u["timestamp"]) for u in units] == np.bincount(starts // MINUTE_US, minlength=4).tolist()


def test_iat_trace_needs_a_per_invocation_trace(workdir):
    trace_rows([[1, 2, 3]]).write(workdir / "trace")
    result = runner.invoke(app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "3", "--iat", "trace"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: --iat trace: ") and "has only counts per unit" in result.output
    assert result.output.count("\n") == 1


def test_rate_scale_rounds_each_cell_down_or_up_and_reruns_identically(workdir):
    counts = np.random.default_rng(0).integers(0, 50, size=(8, 6))
    trace_rows(counts.tolist()).write(workdir / "trace")
    window = ["--trace", "trace", "--warmup", "0", "--duration", "6", "--iat", "equidistant"]
    output, units = _generate(*window, "--rate-scale", "0.3")
    first = open("load.json", "rb").read()
    mapping = read_mapping(workdir / "mapping.csv")
    for k, unit in enumerate(units):
        for row, endpoint in enumerate(mapping["endpoint"]):
            got = unit["endpoint"].count(endpoint)
            assert got in (np.floor(counts[row, k] * 0.3), np.ceil(counts[row, k] * 0.3))
    total = sum(len(u["timestamp"]) for u in units)
    assert f"rate scale 0.3: {total:,} calls for the trace's {int(counts.sum()):,} in the window" in output
    assert abs(total - 0.3 * counts.sum()) < 4 * np.sqrt(counts.size)
    _generate(*window, "--rate-scale", "0.3")
    assert open("load.json", "rb").read() == first
    _, doubled = _generate(*window, "--rate-scale", "2")
    assert [len(u["timestamp"]) for u in doubled] == (2 * counts.sum(axis=0)).tolist()


def test_rate_scale_of_2021_calls_repeats_and_thins_the_real_calls(workdir):
    rows, starts, _ = _calls()
    write_calls(workdir / "calls.csv", rows)
    _, once = _generate("--trace", "calls.csv", "--warmup", "0", "--duration", "4")
    _, twice = _generate("--trace", "calls.csv", "--warmup", "0", "--duration", "4", "--rate-scale", "2")
    for a, b in zip(once, twice):
        assert sorted(b["timestamp"]) == sorted(a["timestamp"] * 2)
    _, half = _generate("--trace", "calls.csv", "--warmup", "0", "--duration", "4", "--rate-scale", "0.5")
    for a, b in zip(once, half):
        assert set(b["timestamp"]) <= set(a["timestamp"])
        assert abs(len(b["timestamp"]) - len(a["timestamp"]) / 2) <= 6  # one rounding per function


@pytest.mark.parametrize("factor", ["0", "-1", "inf", "nan"])
def test_rate_scale_must_be_a_positive_factor(workdir, factor):
    trace_rows([[1, 2, 3]]).write(workdir / "trace")
    result = runner.invoke(app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "3", "--rate-scale", factor])
    assert result.exit_code == 2
    assert result.output == f"Error: --rate-scale {factor}: expected a positive factor\n"


def test_official_days_and_memory_day_reach_the_summary(workdir):
    for day in (1, 13):
        official_day(trace_rows([[day, 2 * day], [1, 1]], per_app_memory=True), day).write(workdir / "trace")
    (workdir / "trace" / "app_memory_percentiles.anon.d13.csv").unlink()
    result = runner.invoke(app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "2"])
    assert result.exit_code == 2 and "days 1, 13; pick one with --day N" in result.output
    output, units = _generate("--trace", "trace", "--warmup", "0", "--duration", "2", "--day", "13", "--memory-day", "1")
    assert "trace: day 13 of the Azure 2019 trace\ntrace: memory of the apps from day 1 (--memory-day)" in output
    assert [len(u["timestamp"]) for u in units] == [14, 27]


def test_invitro_2022_sample_generates(workdir):
    invitro2022_rows([[1, 2], [3, 4]], apps=[0, 0]).write(workdir / "traces")
    output, units = _generate("--trace", "traces/50_inv.csv", "--warmup", "0", "--duration", "2", "--format", "invitro2022")
    assert [len(u["timestamp"]) for u in units] == [4, 6]
    assert "(columns minute_1-minute_2, 0 warm-up)" in output


def test_plot_reads_every_layout(workdir):
    rows, _, _ = _calls()
    write_calls(workdir / "calls.txt", rows)
    result = runner.invoke(app, ["plot", "--trace", "calls.txt", "--trace-format", "azure2021", "--memory-mb", "300"])
    assert result.exit_code == 0, result.output
    assert "wrote 8 figures to plots" in result.output
