"""invoker.stats: the one summary of results used by `invoker replay` and `loadgen report`."""

import io

import numpy as np
from rich.console import Console

from invoker.results import COLUMNS
from invoker.stats import (
    HIGHEST_TRACKABLE_US,
    PERCENTILES,
    Breakdown,
    ResultStats,
    new_histogram,
    percentiles,
    record_values,
    render_summary,
)


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


def test_summary_counts_only_the_measured_phase():
    rows = make_rows(1000, warmup=200)
    stats = ResultStats()
    for row in rows:
        stats.add(row)
    summary = stats.summary(scheduled_calls=900, measured_seconds=8.0)
    measured = [r for r in rows if r["phase"] == "measure"]
    assert summary["calls"] == 800
    assert summary["warmup_calls"] == 200
    assert summary["ok"] == sum(r["status"] == "OK" for r in measured)
    assert summary["failed"] == 800 - summary["ok"]
    assert sum(summary["failures"].values()) == summary["failed"]
    assert "OK" not in summary["failures"]
    assert summary["issued_fraction"] == 800 / 900
    assert summary["scheduled_rps"] == 900 / 8.0
    assert summary["achieved_rps"] == 100.0
    assert summary["latency_us"]["max"] == max(r["latency_us"] for r in measured)
    assert summary["send_lag_us"]["max"] == max(r["lag_us"] for r in measured)
    exact_p50 = np.percentile([r["latency_from_schedule_us"] for r in measured], 50)
    assert abs(summary["latency_from_schedule_us"]["p50"] - exact_p50) <= exact_p50 * 0.01


def test_rates_are_none_when_inputs_unknown_and_percentiles_none_when_empty():
    summary = ResultStats().summary()
    assert summary["calls"] == 0
    assert summary["achieved_rps"] is None and summary["issued_fraction"] is None
    assert summary["latency_us"] == {label: None for label in (*PERCENTILES, "max")}


def test_merged_shards_equal_the_whole_and_rows_equal_columns_and_tuples():
    rows = make_rows(9000, seed=3, warmup=500)
    whole = ResultStats()
    for row in rows:
        whole.add(row)
    shards = [ResultStats() for _ in range(3)]
    for i, row in enumerate(rows):
        shards[i % 3].add(row)
    merged = shards[0]
    merged.merge(shards[1])
    merged.merge(shards[2])
    columns = ResultStats()
    columns.add_columns(*([r[name] for r in rows] for name in
                          ("phase", "status", "latency_us", "latency_from_schedule_us", "lag_us")))
    tuples = ResultStats()
    tuples.add_rows([tuple(r[name] for name in COLUMNS) for r in rows])
    assert merged.summary() == whole.summary()
    assert columns.summary() == whole.summary()
    assert tuples.summary() == whole.summary()


def test_breakdown_per_key_and_merge():
    rows = make_rows(2000, seed=5)
    def breakdown(part):
        b = Breakdown()
        b.add_columns([r["endpoint"] for r in part], [r["status"] for r in part],
                      [r["latency_us"] for r in part], [r["latency_from_schedule_us"] for r in part])
        return b
    whole = breakdown(rows)
    merged = breakdown(rows[:700])
    merged.merge(breakdown(rows[700:]))
    assert merged.rows() == whole.rows()
    table = whole.rows()
    assert len(table) == 7
    first = table["f0.default.example.com"]
    mine = [r for r in rows if r["endpoint"] == "f0.default.example.com"]
    assert first["calls"] == len(mine)
    assert first["errors"] == sum(r["status"] != "OK" for r in mine)
    assert first["latency_us"]["max"] == max(r["latency_us"] for r in mine)


def test_render_summary_prints_every_failure_status():
    stats = ResultStats()
    for row in make_rows(300, seed=7):
        stats.add(row)
    out = io.StringIO()
    render_summary(stats.summary(scheduled_calls=300, measured_seconds=3), Console(file=out, width=120))
    text = out.getvalue()
    for status in stats.summary()["failures"]:
        assert status in text
    assert "p99.99" in text and "achieved rate" in text
