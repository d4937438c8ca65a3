"""loadcore.stats and loadcore.summary: the one statistics entry type, used by `invoker replay`
and `loadgen report`, its histograms and the measured-phase summary."""

import io

import numpy as np
import pytest
from rich.console import Console

from loadcore import histogram
from loadcore.console import render_phase
from loadcore.errors import DependencyError
from loadcore.histogram import HIGHEST_TRACKABLE_US, LABELS, PERCENTILES, new_histogram, percentiles, record_values
from loadcore.results import COLD_FALSE, COLD_TRUE, COLUMNS, ResultRow
from loadcore.stats import CallStats, StatsByKey
from loadcore.summary import PhaseSummary


def make_rows(n: int, seed: int = 0, warmup: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lag = int(rng.integers(0, 3000))
        latency = int(rng.lognormal(9, 1.5))
        status = "OK" if rng.random() > 0.1 else str(rng.choice(["UNAVAILABLE", "DEADLINE_EXCEEDED"]))
        rows.append({
            "unit": i // 100,
            "phase": "warmup" if i < warmup else "measure",
            "endpoint": f"f{i % 7}.default.example.com",
            "invocation_id": f"id-{seed}-{i}",
            "scheduled_us": i * 1000,
            "sent_us": i * 1000 + lag,
            "lag_us": lag,
            "latency_us": latency,
            "latency_from_schedule_us": latency + lag,
            "status": status,
            "error": "" if status == "OK" else "boom",
            "service_us": "",
            "memory_usage_kb": "",
            "instance": "",
            "cold": "",
            "requested_runtime_ms": "",
            "requested_memory_mib": "",
            "run_id": "r1",
            "shard": "1/1",
            "host": "h",
            "t0_unix_us": 0,
        })
    assert set(rows[0]) == set(COLUMNS)
    return rows


def test_vectorised_recording_matches_hdrhistogram():
    values = np.random.default_rng(1).lognormal(8, 3, 20_000).astype(np.int64)
    values = np.concatenate([values, [0, 1, 2047, 2048, HIGHEST_TRACKABLE_US]])
    for figures in (2, 3):
        ours, reference = new_histogram(figures), new_histogram(figures)
        record_values(ours, values)
        for value in values:
            reference.record_value(int(value))
        assert list(ours.counts) == list(reference.counts)
        got = percentiles(ours)
        for label, percentile in PERCENTILES.items():
            expected = min(reference.get_value_at_percentile(percentile), int(values.max()))
            assert got[label] == expected
        assert got["max"] == int(values.max())


def test_out_of_range_values_are_counted_not_dropped():
    histogram = new_histogram()
    record_values(histogram, [-5, 10, HIGHEST_TRACKABLE_US * 2])
    assert histogram.total_count == 3
    assert percentiles(histogram)["max"] == HIGHEST_TRACKABLE_US


def measured_stats(rows: list[dict]) -> tuple[CallStats, int]:
    """The measured phase's entry and the warm-up count, fed row by row as the invoker does."""
    stats = CallStats()
    measured = [ResultRow(**r) for r in rows if r["phase"] == "measure"]
    for start in range(0, len(measured), 64):
        stats.add_rows(measured[start:start + 64])
    return stats, len(rows) - len(measured)


def test_summary_counts_only_the_measured_phase():
    rows = make_rows(1000, warmup=200)
    summary = PhaseSummary.of(*measured_stats(rows), scheduled_calls=900, measured_seconds=8.0)
    measured = [r for r in rows if r["phase"] == "measure"]
    assert summary.calls == 800
    assert summary.warmup_calls == 200
    assert summary.ok == sum(r["status"] == "OK" for r in measured)
    assert summary.failed == 800 - summary.ok
    assert sum(summary.failures.values()) == summary.failed
    assert "OK" not in summary.failures
    assert summary.issued_fraction == 800 / 900
    assert summary.scheduled_rps == 900 / 8.0
    assert summary.achieved_rps == 100.0
    assert summary.latency_us["max"] == max(r["latency_us"] for r in measured)
    assert summary.send_lag_us["max"] == max(r["lag_us"] for r in measured)
    exact_p50 = np.percentile([r["latency_from_schedule_us"] for r in measured], 50)
    assert abs(summary.latency_from_schedule_us["p50"] - exact_p50) <= exact_p50 * 0.01


def test_rates_are_none_when_inputs_unknown_and_percentiles_none_when_empty():
    summary = PhaseSummary.of(CallStats())
    assert summary.calls == 0
    assert summary.achieved_rps is None and summary.issued_fraction is None
    assert summary.latency_us.values == dict.fromkeys(LABELS)


def test_merged_shards_equal_the_whole_and_rows_equal_columns():
    rows = [r for r in make_rows(9000, seed=3)]
    whole, _ = measured_stats(rows)
    shards = [measured_stats(rows[k::3])[0] for k in range(3)]
    merged = shards[0]
    merged.merge(shards[1])
    merged.merge(shards[2])
    columns = CallStats()
    columns.add_columns(*([r[name] for r in rows] for name in ("status", "latency_us", "latency_from_schedule_us", "lag_us")))
    assert PhaseSummary.of(merged) == PhaseSummary.of(whole)
    assert PhaseSummary.of(columns) == PhaseSummary.of(whole)


@pytest.mark.parametrize("cells", [histogram.GROUPED_CELLS, 1])  # 1: each key's counters counted alone
def test_one_entry_per_key_equal_to_the_entry_of_that_keys_rows_and_mergeable(cells, monkeypatch):
    monkeypatch.setattr(histogram, "GROUPED_CELLS", cells)
    rows = make_rows(2000, seed=5)
    for row, cold in zip(rows, np.random.default_rng(6).choice([COLD_TRUE, COLD_FALSE, ""], len(rows))):
        row["cold"] = str(cold)

    def by_endpoint(part):
        entries = StatsByKey()
        entries.add_columns(*([r[name] for r in part] for name in
                              ("endpoint", "status", "latency_us", "latency_from_schedule_us", "lag_us", "cold")))
        return entries

    whole = by_endpoint(rows)
    merged = by_endpoint(rows[:700])
    merged.merge(by_endpoint(rows[700:]))
    assert len(whole) == 7
    for (key, entry), (other_key, other) in zip(whole.items(), merged.items()):
        assert key == other_key and PhaseSummary.of(entry) == PhaseSummary.of(other)
        mine = [r for r in rows if r["endpoint"] == key]
        alone = CallStats(significant_figures=2)
        alone.add_rows([ResultRow(**r) for r in mine])
        assert PhaseSummary.of(entry) == PhaseSummary.of(alone)
        assert entry.calls == len(mine) and entry.errors == sum(r["status"] != "OK" for r in mine)
        assert entry.cold_calls == sum(r["cold"] == COLD_TRUE for r in mine) == alone.cold_calls
        assert entry.warm_calls == sum(r["cold"] == COLD_FALSE for r in mine) == alone.warm_calls
        assert entry.percentiles("send_lag_us")["max"] == max(r["lag_us"] for r in mine)


def test_render_phase_prints_every_failure_status():
    stats, warmup = measured_stats(make_rows(300, seed=7))
    out = io.StringIO()
    render_phase(PhaseSummary.of(stats, warmup, scheduled_calls=300, measured_seconds=3), Console(file=out, width=120))
    text = out.getvalue()
    for status in stats.failures():
        assert status in text
    assert "p99.99" in text and "achieved rate" in text


def test_the_histogram_internals_are_checked_and_a_missing_one_names_the_version(monkeypatch):
    histogram.check()
    monkeypatch.setattr(histogram, "_INTERNALS", (*histogram._INTERNALS, "counts_array_v2"))
    with pytest.raises(DependencyError, match=r"hdrhistogram \d+\.\d+\.\d+ lacks counts_array_v2"):
        histogram.check()
