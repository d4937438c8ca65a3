"""`loadgen report` on cold starts: flags the replies reported, flags inferred from scaling.csv
(`cold_likely`), the cold/warm split, the figures, and what keeps the inference from working."""

import csv
import json

import pytest
from typer.testing import CliRunner

from loadcore.results import COLUMNS, ResultRow
from loadcore.scalingfile import ScalingRow, ScalingWriter
from loadcore.summary import Summary
from loadcore.units import format_unix_us
from loadgen.cli import app
from loadgen.report import report

S = 1_000_000
T0 = 1_800_000_000 * S
FA, FB = "fa.default.example.com", "fb.default.example.com"


def row(number, endpoint, sent_s, latency_ms, instance="", cold="", t0="", host="h"):
    """A results row; `t0` its worker's t0 (Unix µs), unknown (as in files from before the
    column) unless given."""
    sent = round(sent_s * S)
    latency = latency_ms * 1000
    return ResultRow(0, "measure", endpoint, f"id-{number}", sent, sent, 0, latency, latency, "OK", "", service_us=10,
                     memory_usage_kb="", instance=instance, cold=cold, requested_runtime_ms="", requested_memory_mib="",
                     run_id="run-a", shard="1/1", host=host, t0_unix_us=t0)


def write(path, rows, header=COLUMNS):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def scaling_file(path, rows):
    writer = ScalingWriter(path)
    writer.write([ScalingRow(T0 + round(t * S), f, *counts) for t, f, *counts in rows])
    writer.close()
    return path


def test_reported_cold_starts_are_counted_per_function_and_split_from_warm_calls(tmp_path):
    rows = [
        row(1, FA, 0.1, 900, "fa-1", "true"),
        row(2, FA, 0.2, 950, "fa-2", "true"),
        row(3, FA, 2.0, 40, "fa-1", "false"),
        row(4, FA, 2.5, 45, "fa-2", "false"),
        row(5, FB, 1.0, 1300, "fb-1", "true"),
        row(6, FB, 3.0, 30, "fb-1", "false"),
        row(7, FB, 4.0, 35),  # a reply that did not say
    ]
    result = report([write(tmp_path / "latency.csv", rows)], output_dir=tmp_path / "out")
    summary = result.summary
    assert (summary.measured.cold_calls, summary.measured.warm_calls) == (3, 3)
    cold = summary.cold_starts
    assert (cold.source, cold.reported_calls, cold.inferred_calls, cold.cold_share) == ("reported", 6, 0, 0.5)
    assert cold.latency_from_schedule_us["cold"]["max"] == 1_300_000
    assert cold.latency_from_schedule_us["warm"]["max"] == 45_000
    assert [(f.function, f.calls, f.cold_calls, f.scale_from_zero) for f in cold.functions] == [
        ("fa", 4, 2, None), ("fb", 2, 1, None)]
    assert {f.endpoint: (f.cold_calls, f.warm_calls) for f in summary.functions} == {FA: (2, 2), FB: (1, 1)}
    assert cold.instances == [] and cold.scaling is None
    assert (tmp_path / "out" / "latency-cdf-cold-warm.png").exists()
    assert not (tmp_path / "out" / "instances.png").exists()
    assert Summary.read(tmp_path / "out" / "summary.json") == summary


def test_cold_likely_is_inferred_from_scaling_csv_for_calls_whose_replies_did_not_say(tmp_path):
    scaling = scaling_file(tmp_path / "scaling.csv", [
        (0.0, "fa", 0, 0, 0, 0, 0),
        (0.0, "fb", 1, 0, 0, 0, 0),
        (0.2, "fa", 0, 1, 0, 1, 0),
        (1.0, "fa", 1, 0, 0, 1, 0),
        (3.0, "fa", 0, 0, 0, 1, 1),
        (5.0, "fa", 0, 1, 0, 2, 1),
    ])  # fmt: skip
    rows = [
        row(1, FA, 0.5, 700),   # no ready Pod: cold_likely
        row(2, FA, 2.0, 40),    # one ready: warm
        row(3, FA, 3.5, 800),   # scaled to zero again: cold_likely
        row(4, FB, 1.0, 30),    # fb had one ready all along
        row(5, FB, 2.0, 31, "fb-x", "true"),  # what a reply says wins
        row(6, "fc.default.example.com", 2.0, 30),  # not in scaling.csv: unknown
    ]  # fmt: skip
    result = report([write(tmp_path / "latency.csv", rows)], output_dir=tmp_path / "out", scaling=scaling, t0_unix_us=T0)
    cold = result.summary.cold_starts
    assert (cold.source, cold.reported_calls, cold.inferred_calls) == ("reported and inferred", 1, 4)
    assert (cold.cold_calls, cold.warm_calls) == (3, 2)
    assert [(f.function, f.calls, f.cold_calls, f.scale_from_zero, f.max_instances) for f in cold.functions] == [
        ("fa", 3, 2, 2, 1), ("fb", 2, 1, 0, 1), ("fc", 0, 0, None, None)]
    assert cold.scale_from_zero.events == 2
    assert cold.scale_from_zero.delay_us["max"] == 800_000  # 0.2 s → 1.0 s; the second never got ready
    fa = cold.instances[0]
    assert (fa.function, fa.time_s, fa.ready, fa.pending) == ("fa", [0.0, 0.2, 1.0, 3.0, 5.0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 1])
    assert cold.instances[1].time_s == [0.0, 5.0], "carried on to the end of the observation"
    assert result.summary.warnings == []
    assert (tmp_path / "out" / "instances.png").exists()


def test_without_t0_or_with_a_foreign_scaling_csv_nothing_is_inferred_and_the_report_says_why(tmp_path):
    scaling = scaling_file(tmp_path / "scaling.csv", [(0.0, "fa", 0, 0, 0, 0, 0)])
    results = [write(tmp_path / "latency.csv", [row(1, FA, 0.5, 700), row(2, FA, 1.5, 40)])]
    no_t0 = report(results, output_dir=tmp_path / "a", scaling=scaling).summary
    assert no_t0.cold_starts.inferred_calls == 0
    assert no_t0.warnings == [f"{scaling}: without the run's t0 (the results predate their t0_unix_us column: give "
                              f"--t0, printed by invoker replay) the 2 calls whose replies did not say cannot be placed "
                              f"on its clock; no cold start inferred"]
    early = report(results, output_dir=tmp_path / "b", scaling=scaling, t0_unix_us=T0 - 3600 * S).summary
    assert early.cold_starts.inferred_calls == 0
    assert early.warnings[0].startswith(f"{scaling}: none of the 2 calls whose replies did not say falls within its rows")


def test_results_without_cold_flags_or_scaling_have_no_cold_starts(tmp_path):
    old = [r[:12] for r in (row(1, FA, 0.5, 700), row(2, FA, 1.5, 40))]
    summary = report([write(tmp_path / "old.csv", old, COLUMNS[:12])], output_dir=tmp_path / "out").summary
    assert summary.cold_starts is None and summary.measured.calls == 2
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["cold_starts"] is None


def test_each_call_is_placed_by_the_t0_its_row_records_without_t0(tmp_path):
    """Two workers started by hand 2 s apart: each one's calls count from its own t0."""
    scaling = scaling_file(tmp_path / "scaling.csv", [(0.0, "fa", 0, 0, 0, 0, 0), (2.5, "fa", 1, 0, 0, 1, 0)])
    rows = [row(1, FA, 1.0, 700, t0=T0, host="a"),      # at T0 + 1 s: no ready Pod
            row(2, FA, 1.0, 40, t0=T0 + 2 * S, host="b")]  # at T0 + 3 s: one ready
    summary = report([write(tmp_path / "latency.csv", rows)], output_dir=tmp_path / "out", scaling=scaling,
                     granularity="second").summary  # fmt: skip
    cold = summary.cold_starts
    assert (cold.inferred_calls, cold.cold_calls, cold.warm_calls, cold.t0_unix_us) == (2, 1, 1, T0)
    assert cold.latency_from_schedule_us["cold"]["max"] == 700_000
    assert summary.warnings[0].startswith("run run-a: t0 differs by 2.000 s between workers")
    given = report([write(tmp_path / "latency.csv", rows)], output_dir=tmp_path / "out2", scaling=scaling,
                   t0_unix_us=T0 + 2 * S, granularity="second").summary  # fmt: skip
    assert (given.cold_starts.cold_calls, given.cold_starts.warm_calls) == (0, 2)  # --t0 places every row


def test_the_cli_takes_the_t0_invoker_replay_prints_and_shows_the_cold_starts(tmp_path):
    scaling = scaling_file(tmp_path / "scaling.csv",
                           [(0.0, "fa", 0, 0, 0, 0, 0), (0.5, "fa", 0, 1, 0, 1, 0), (1.0, "fa", 1, 0, 0, 1, 0)])
    results = write(tmp_path / "latency.csv", [row(1, FA, 0.5, 700), row(2, FA, 1.5, 40)])
    invoked = CliRunner().invoke(app, ["report", str(results), "--scaling", str(scaling), "--t0", format_unix_us(T0),
                                       "--output-dir", str(tmp_path / "out")])  # fmt: skip
    assert invoked.exit_code == 0, invoked.output
    assert "Cold starts (inferred from scaling.csv): 1 of 2 calls, 50.0%" in invoked.output
    assert "scale-from-zero events: 1; time to the first ready instance p50 500.0 ms" in invoked.output


@pytest.mark.parametrize("t0, expected", [
    ("yesterday", "expected an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z) or Unix microseconds"),
    ("2026-12-03T10:00:00", "no time zone; expected Z for UTC (e.g. 2026-12-03T10:00:00Z) or an offset such as +01:00"),
    ("2026-13-03T10:00:00Z", "month must be in 1..12; expected an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z) "
                             "or Unix microseconds"),
    ("99999999999999999999", "after the year 9999; expected an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z) "
                             "or Unix microseconds"),
])  # fmt: skip
def test_a_bad_t0_is_a_one_line_error(tmp_path, t0, expected):
    results = write(tmp_path / "latency.csv", [row(1, FA, 0.5, 700)])
    invoked = CliRunner().invoke(app, ["report", str(results), "--t0", t0, "--output-dir", str(tmp_path)])
    assert (invoked.exit_code, invoked.output) == (2, f"Error: --t0 {t0!r}: {expected}\n")


def test_a_bad_cold_flag_names_its_line(tmp_path):
    results = write(tmp_path / "latency.csv", [row(1, FA, 0.5, 700, "fa-1", "yes")])
    invoked = CliRunner().invoke(app, ["report", str(results), "--output-dir", str(tmp_path)])
    assert (invoked.exit_code, invoked.output) == (2, f"Error: {results}: line 2, column 'cold': 'yes', expected true, false or empty\n")


def test_scale_from_zero_events_of_the_warm_up_are_left_out_when_t0_places_them(tmp_path):
    scaling = scaling_file(tmp_path / "scaling.csv", [
        (0.0, "fa", 0, 0, 0, 0, 0), (0.2, "fa", 0, 1, 0, 1, 0), (0.3, "fa", 1, 0, 0, 1, 0),   # in the warm-up second
        (0.9, "fa", 0, 0, 0, 1, 1), (1.5, "fa", 0, 1, 0, 2, 1), (1.9, "fa", 1, 0, 0, 2, 1),   # in the measured one
    ])  # fmt: skip
    warmup = row(1, FA, 0.1, 300, "fa-1", "true")
    results = [write(tmp_path / "latency.csv", [(0, "warmup", *warmup[2:]), (1, *row(2, FA, 1.5, 400, "fa-2", "true")[1:])])]
    placed = report(results, output_dir=tmp_path / "a", scaling=scaling, t0_unix_us=T0, granularity="second").summary
    assert placed.cold_starts.scale_from_zero.events == 1 and placed.cold_starts.functions[0].scale_from_zero == 1
    whole = report(results, output_dir=tmp_path / "b", scaling=scaling, granularity="second").summary
    assert whole.cold_starts.scale_from_zero.events == 2
