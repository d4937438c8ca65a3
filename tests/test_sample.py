"""`loadgen sample`: nested, reproducible samples whose reported distances are the real ones
and beat invitro's best-of-random baseline; every bad input one line and exit code 2."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance
from typer.testing import CliRunner

from loadgen.cli import app
from loadgen.traces import read_trace
from tracefiles import official_day, trace_rows, write_calls

runner = CliRunner()
FUNCTIONS, MINUTES = 400, 30


def _synthetic(folder, seed=5):
    """A heavy-tailed trace like Azure's: rates log-normal over ~5 orders of magnitude, some
    idle functions, mean durations and memory log-normal around 300 ms and 150 MB."""
    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0, 2.2, FUNCTIONS)
    counts = rng.poisson(rates[:, None], size=(FUNCTIONS, MINUTES))
    counts[:10] = 0
    rows = trace_rows(counts.tolist(), apps=[i // 3 for i in range(FUNCTIONS)])
    for row, ms in zip(rows.durations[1:], rng.lognormal(np.log(300), 1.5, FUNCTIONS).round(1)):
        row[3] = str(ms)
    for row, mb in zip(rows.memory[1:], rng.lognormal(np.log(150), 0.7, FUNCTIONS).round(1)):
        row[4] = str(mb)
    rows.write(folder)
    return counts


def _sample(tmp_path, *args):
    result = runner.invoke(app, ["sample", "--trace", str(tmp_path / "trace"), "--output", str(tmp_path / "out"), *args])
    assert result.exit_code == 0, result.output
    return result, json.loads((tmp_path / "out" / "sampling.json").read_text())


def _keys(folder):
    table = pd.read_csv(folder / "invocations.csv", dtype=str)
    return set(zip(table["HashOwner"], table["HashApp"], table["HashFunction"]))


def _scipy_distances(values_sample, values_full):
    return float(np.mean([wasserstein_distance(values_sample[:, m], values_full[:, m]) for m in range(values_full.shape[1])]))


def _resources(trace, counts):
    per_call = trace.functions["Average"].to_numpy() * trace.functions["AverageAllocatedMb"].to_numpy() / 1e6
    return counts * per_call[:, None]


def test_samples_nest_and_rerun_byte_for_byte(tmp_path):
    _synthetic(tmp_path / "trace")
    first, report = _sample(tmp_path, "--sizes", "20", "50", "120", "--window", "5", "20", "--seed", "3")
    files = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.suffix in (".csv", ".json"))
    before = {p: (tmp_path / "out" / p).read_bytes() for p in files}
    _sample(tmp_path, "--sizes", "120", "50", "20", "--window", "5", "20", "--seed", "3")
    assert {p: (tmp_path / "out" / p).read_bytes() for p in files} == before
    assert len(files) == 10
    small, middle, large = (_keys(tmp_path / "out" / str(size)) for size in (20, 50, 120))
    assert len(small) == 20 and len(middle) == 50 and len(large) == 120
    assert small < middle < large
    assert [s["size"] for s in report["samples"]] == [20, 50, 120]
    assert "wrote" in first.output and "random best" in first.output
    _, other = _sample(tmp_path, "--sizes", "20", "--window", "5", "20", "--seed", "4")
    assert _keys(tmp_path / "out" / "20") != small


def test_sample_folders_hold_the_traces_counts_and_read_back(tmp_path):
    counts = _synthetic(tmp_path / "trace")
    _, report = _sample(tmp_path, "--sizes", "30", "--window", "5", "20")
    trace = read_trace(tmp_path / "trace")
    sample = read_trace(tmp_path / "out" / "30")
    assert sample.units == [str(n) for n in range(6, 26)]
    key = ["HashOwner", "HashApp", "HashFunction"]
    row_of = {k: row for row, k in enumerate(trace.functions[key].itertuples(index=False, name=None))}
    rows = [row_of[k] for k in sample.functions[key].itertuples(index=False, name=None)]
    assert rows == sorted(rows)
    assert sample.counts.tolist() == counts[rows, 5:25].tolist()
    assert sample.duration_ms(75).tolist() == trace.duration_ms(75)[rows].tolist()
    assert sample.memory_mb(75).tolist() == trace.memory_mb(75)[rows].tolist()
    assert report["samples"][0]["calls"] == int(counts[rows, 5:25].sum())
    assert report["functions"] == {"trace": FUNCTIONS, "without_calls_in_window": int((counts[:, 5:25].sum(1) == 0).sum()),
                                   "pool": int((counts[:, 5:25].sum(1) > 0).sum()), "skipped": {}}  # fmt: skip
    assert report["window"] == {"start": 5, "minutes": 20, "first_column": "6", "last_column": "25"}


def test_reported_distances_are_scipys_and_beat_invitros_baseline(tmp_path):
    _synthetic(tmp_path / "trace")
    _, report = _sample(tmp_path, "--sizes", "25", "80", "--window", "0", "30", "--seed", "11")
    trace = read_trace(tmp_path / "trace")
    pool = trace.counts.sum(axis=1) > 0
    full_counts, full_resources = trace.counts[pool], _resources(trace, trace.counts)[pool]
    invitro = _invitro_baseline(full_counts, full_resources, [80, 25], np.random.default_rng(11))
    for entry in report["samples"]:
        sample = read_trace(tmp_path / "out" / str(entry["size"]))
        ours = entry["distances"]["ours"]
        assert ours["invocations"] == pytest.approx(_scipy_distances(sample.counts, full_counts), rel=1e-9)
        assert ours["resources"] == pytest.approx(_scipy_distances(_resources(sample, sample.counts), full_resources), rel=1e-9)
        assert ours["mean"] == pytest.approx((ours["invocations"] + ours["resources"]) / 2)
        assert ours["mean"] <= invitro[entry["size"]]
        assert ours["mean"] <= entry["distances"]["invitro"]["mean"]
        assert ours["mean"] <= entry["distances"]["random_best"]["mean"] <= entry["distances"]["random_median"]["mean"]


def _invitro_baseline(counts, resources, sizes, rng, trials=16):
    """invitro's roll-down with scipy: best of `trials` uniform draws, each size from the last best."""
    best, parent = {}, np.arange(counts.shape[0])
    for size in sizes:
        scored = []
        for _ in range(trials):
            rows = rng.choice(parent, size, replace=False)
            score = (_scipy_distances(counts[rows], counts) + _scipy_distances(resources[rows], resources)) / 2
            scored.append((score, rows))
        best[size], parent = min(scored, key=lambda pair: pair[0])
    return best


def test_a_2021_trace_is_sampled_into_a_trace_folder(tmp_path):
    calls = [(f"app{i % 7}", f"f{i % 23}", 5 + i * 0.37, 0.05 * (i % 5)) for i in range(2000)]
    write_calls(tmp_path / "trace" / "calls.txt", calls)
    result, report = _sample(tmp_path, "--sizes", "10", "--memory-mb", "128")
    assert "trace: the trace has no memory: 128 MB for every function (--memory-mb)" in result.output
    sample = read_trace(tmp_path / "out" / "10")
    assert sample.memory_mb(50).tolist() == [128] * 10
    assert report["format"] == "azure2021" and report["samples"][0]["calls"] == int(sample.counts.sum())


def _official(tmp_path, days):
    for day in days:
        official_day(trace_rows([[1, 2], [3, 4]], per_app_memory=True), day).write(tmp_path / "trace")


BAD = {
    "unknown layout": (lambda t: (t / "trace").mkdir() or (t / "trace" / "x.csv").write_text("a\n1\n"), [], "no trace found"),
    "missing day": (lambda t: _official(t, [1, 2]), ["--day", "3"], "no invocations file for day 3"),
    "several days": (lambda t: _official(t, [1, 2]), [], "days 1, 2; pick one with --day N"),
    "day 13 without memory day": (lambda t: _official(t, [13]), [], "day 13 has no memory file"),
    "mixed layouts": (
        lambda t: (_official(t, [1]), trace_rows([[1]]).write(t / "trace")),
        [],
        "mixed trace layouts",
    ),
    "non-numeric timestamp": (
        lambda t: write_calls(t / "trace" / "c.txt", [("a", "f", "1.5", "0.1"), ("a", "f", "x", "0.1")]),
        [],
        "c.txt: line 3, column 'end_timestamp': 'x' is not a number",
    ),
    "negative duration": (
        lambda t: write_calls(t / "trace" / "c.txt", [("a", "f", "1.5", "-0.1")]),
        [],
        "c.txt: line 2, column 'duration': -0.1 is negative",
    ),
    "empty 2021 file": (lambda t: write_calls(t / "trace" / "c.txt", []), ["--format", "azure2021"], "c.txt: no data rows"),
    "absurd count": (
        lambda t: trace_rows([[1, 99999999999999999999]]).write(t / "trace"),
        [],
        "is over 60,000,000, more calls in one minute than a replay can issue",
    ),
    "size over the pool": (lambda t: trace_rows([[1], [2]]).write(t / "trace"), ["--sizes", "3"], "only 2 functions with calls"),
    "window too long": (lambda t: trace_rows([[1], [2]]).write(t / "trace"), ["--window", "0", "5"], "--window 0 5 = 5 minutes"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    make, args, message = BAD[case]
    make(tmp_path)
    args = args if "--sizes" in args else [*args, "--sizes", "1"]
    result = runner.invoke(app, ["sample", "--trace", str(tmp_path / "trace"), "--output", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("output, message", [
    ("a-file", "a-file: is a file, expected a folder to write into"),
    ("a-file/samples", "a-file/samples: cannot be created: {tmp}/a-file is a file, expected a folder to write into"),
])  # fmt: skip
def test_an_output_folder_that_cannot_be_made_is_refused_before_sampling(tmp_path, output, message):
    _synthetic(tmp_path / "trace")
    (tmp_path / "a-file").write_text("")
    result = runner.invoke(app, ["sample", "--sizes", "5", "--trace", str(tmp_path / "trace"),
                                 "--output", str(tmp_path / output)])  # fmt: skip
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path}/{message.format(tmp=tmp_path)}\n"
