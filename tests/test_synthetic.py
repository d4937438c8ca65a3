"""Per-call runtime and memory of synthetic functions: inside invitro's brackets and following them."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loadgen.synthetic import MAX_MEMORY_MIB, CallSpecs
from loadgen.traces.model import DURATION_COLUMNS, DURATION_PERCENTILES, MEMORY_COLUMNS, MEMORY_PERCENTILES

RUNTIME = [2, 10, 100, 400, 1000, 5000, 20000]  # p0/1/25/50/75/99/100, ms
MEMORY = [50, 60, 100, 200, 300, 600, 800, 1000]  # p1/5/25/50/75/95/99/100, MB
CALLS = 200_000


def table(*rows: tuple[list, list]) -> pd.DataFrame:
    return pd.DataFrame(
        [dict(zip(DURATION_COLUMNS, runtime)) | dict(zip(MEMORY_COLUMNS, memory)) for runtime, memory in rows]
    )


def draws(specs: CallSpecs, functions, seed=7):
    return specs.draw(np.asarray(functions, dtype=np.int64), np.random.default_rng(seed))


def bracket_probabilities(percentiles):
    cuts = np.asarray(percentiles, dtype=float) / 100
    return np.diff(cuts if cuts[0] == 0 else np.concatenate([[0.0], cuts]))


@pytest.mark.parametrize(
    "which, points, percentiles", [(0, RUNTIME, DURATION_PERCENTILES), (1, MEMORY, MEMORY_PERCENTILES)], ids=["runtime", "memory"]
)
def test_draws_stay_inside_the_brackets_and_follow_their_probabilities(which, points, percentiles):
    values = draws(CallSpecs.from_table(table((RUNTIME, MEMORY))), np.zeros(CALLS))[which]
    edges = [points[0], *points] if percentiles[0] > 0 else points
    assert values.min() >= points[0] and values.max() < points[-1]
    # every value falls in one bracket [lo, hi) of the ladder, so counting them per bracket is exact
    observed = np.histogram(values, bins=np.unique(edges))[0]
    expected = bracket_probabilities(percentiles) * CALLS
    if percentiles[0] > 0:  # memory: below p1 is p1 itself, counted with the [p1, p5) bracket
        expected = np.concatenate([[expected[0] + expected[1]], expected[2:]])
    assert observed.sum() == CALLS
    assert stats.chisquare(observed, expected).pvalue > 0.01, (observed, expected)


def test_inside_a_bracket_every_integer_is_equally_likely():
    runtime = draws(CallSpecs.from_table(table((RUNTIME, MEMORY))), np.zeros(CALLS))[0]
    inside = runtime[(runtime >= 100) & (runtime < 400)]  # the p25-p50 bracket, a quarter of the calls
    assert abs(inside.size - CALLS / 4) < 4 * np.sqrt(CALLS * 0.25 * 0.75)
    observed = np.bincount(inside - 100, minlength=300)
    assert observed.size == 300 and stats.chisquare(observed).pvalue > 0.01
    assert stats.kstest((inside - 100 + 0.5) / 300, "uniform").pvalue > 0.01


def test_memory_below_p1_is_p1_itself():
    memory = draws(CallSpecs.from_table(table((RUNTIME, MEMORY))), np.zeros(CALLS))[1]
    at_p1 = np.count_nonzero(memory == 50)
    # 1 % exactly p1, plus p1's share of the uniform [50, 60) bracket (4 % over 10 integers)
    assert abs(at_p1 - CALLS * (0.01 + 0.004)) < 4 * np.sqrt(CALLS * 0.014)


def test_runtime_and_memory_are_clamped_to_what_trace_func_go_accepts():
    zero = ([0] * 7, [0] * 8)
    huge = ([90_000, 100_000, 200_000, 300_000, 400_000, 500_000, 905_476], [20_000] * 8)
    specs = CallSpecs.from_table(table(zero, huge), max_runtime_ms=30_000)
    runtime, memory = draws(specs, [0] * 1000 + [1] * 1000)
    assert set(runtime[:1000]) == {1} and set(memory[:1000]) == {1}
    assert set(runtime[1000:]) == {30_000} and set(memory[1000:]) == {MAX_MEMORY_MIB}


def test_each_call_draws_from_its_own_functions_brackets():
    small, large = ([1, 2, 3, 4, 5, 6, 7], [10] * 8), ([1000] * 7, [500, 600, 700, 800, 900, 950, 990, 1000])
    functions = np.random.default_rng(1).integers(0, 2, 10_000)
    runtime, memory = draws(CallSpecs.from_table(table(small, large)), functions)
    assert runtime[functions == 0].max() < 7 and set(runtime[functions == 1]) == {1000}
    assert set(memory[functions == 0]) == {10} and memory[functions == 1].min() >= 500


def test_a_decreasing_percentile_is_read_as_the_running_maximum():
    glitch = ([5, 10, 8, 20, 30, 40, 50], MEMORY)  # p25 below p1
    runtime = draws(CallSpecs.from_table(table(glitch)), np.zeros(CALLS))[0]
    assert runtime.min() >= 5 and runtime.max() < 50
    # [p1, p25) collapsed to p1 = 10 (24 %), plus 10's share of the uniform [10, 20) bracket (2.5 %)
    assert abs(np.count_nonzero(runtime == 10) - 0.265 * CALLS) < 4 * np.sqrt(CALLS * 0.265 * 0.735)


def test_the_same_seed_gives_the_same_calls_and_another_seed_others():
    specs = CallSpecs.from_table(table((RUNTIME, MEMORY)))
    first, again, other = draws(specs, np.zeros(1000), 3), draws(specs, np.zeros(1000), 3), draws(specs, np.zeros(1000), 4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def _generated(args):
    import json

    from typer.testing import CliRunner

    from loadgen.cli import app

    result = CliRunner().invoke(app, ["generate", *args])
    assert result.exit_code == 0, result.output
    return json.loads(open("load.json").read()), result.output


@pytest.mark.parametrize("layout", ["counts", "2021 calls"])
def test_synthetic_payloads_leave_the_call_times_alone_and_repeat_with_the_seed(tmp_path, monkeypatch, layout):
    from tracefiles import trace_rows, write_calls

    monkeypatch.chdir(tmp_path)
    if layout == "counts":
        trace_rows([[30, 40], [50, 0], [20, 20]]).write(tmp_path / "trace")
        args = ["--trace", "trace", "--warmup", "0", "--duration", "2"]
    else:
        rng = np.random.default_rng(4)
        starts, durations = rng.integers(0, 120_000_000, 300), rng.integers(0, 3_000_000, 300)
        write_calls(tmp_path / "calls.csv", [(f"app{i % 3}", "f", f"{(s + d) / 1e6:.6f}", f"{d / 1e6:.6f}")
                                              for i, (s, d) in enumerate(zip(starts, durations))])
        args = ["--trace", "calls.csv", "--warmup", "0", "--duration", "2", "--iat", "trace"]
    proxies, _ = _generated([*args, "--synthetic", "never"])
    synthetic, output = _generated([*args, "--synthetic", "always"])
    again, _ = _generated([*args, "--synthetic", "always"])
    assert synthetic == again
    assert [u["timestamp"] for u in synthetic] == [u["timestamp"] for u in proxies]
    calls = sum(len(u["timestamp"]) for u in synthetic)
    assert f"({calls} to synthetic functions, runtime up to" in output
    from loadcore.mappingfile import read_mapping

    mapping = read_mapping(tmp_path / "mapping.csv")
    trace = mapping.set_index("endpoint")
    for unit in synthetic:
        assert all(runtime >= 1 and memory >= 1 for runtime, memory in zip(unit["runtime_ms"], unit["memory_mib"]))
        assert {e for e in unit["endpoint"]} <= set(trace.index[trace["kind"] == "synthetic"])
        if layout == "counts":  # function i of trace_rows: 10 (i + 1) ms and 100 (i + 1) MB at every percentile
            function = [int(trace.loc[e, "HashFunction"][-2:]) for e in unit["endpoint"]]
            assert unit["runtime_ms"] == [10 * (i + 1) for i in function]
            assert unit["memory_mib"] == [100 * (i + 1) for i in function]


def test_a_2021_call_replayed_at_its_own_time_asks_for_its_own_recorded_duration(tmp_path, monkeypatch):
    from tracefiles import write_calls

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(9)
    starts, durations = rng.integers(0, 120_000_000, 400), rng.integers(0, 9_000_000, 400)
    durations[:5] = [0, 400, 1_600, 70_000_000, 2_499_500]  # rounds to 0 (-> 1), 0 (-> 1), 2, clamped, 2,500 ms
    starts[:5] = 1_000_000
    apps = [f"app{i % 4}" for i in range(400)]
    write_calls(tmp_path / "calls.csv", [(a, "f", f"{(s + d) / 1e6:.6f}", f"{d / 1e6:.6f}")
                                         for a, s, d in zip(apps, starts, durations)])
    units, _ = _generated(["--trace", "calls.csv", "--warmup", "0", "--duration", "2", "--iat", "trace", "--synthetic",
                           "always", "--max-runtime-ms", "60000"])
    from loadcore.mappingfile import read_mapping

    endpoint = dict(zip(read_mapping(tmp_path / "mapping.csv")["HashApp"], read_mapping(tmp_path / "mapping.csv")["endpoint"]))
    expected = sorted((int(s // 60_000_000), int(s % 60_000_000), endpoint[a], int(min(max(round(d / 1000), 1), 60_000)))
                      for a, s, d in zip(apps, starts, durations))
    got = sorted((k, t, e, r) for k, unit in enumerate(units)
                 for t, e, r in zip(unit["timestamp"], unit["endpoint"], unit["runtime_ms"]))
    assert got == expected
    assert {r for _, t, _, r in got if t == 1_000_000} == {1, 2, 60_000, 2_500}
