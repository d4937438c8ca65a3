"""`loadgen report`: merging worker results, summary.json, figures, bad input."""

import csv
import json
import uuid

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loadcore.mappingfile import COLUMNS as MAPPING_COLUMNS, write_mapping
from loadcore.errors import InputError
from loadcore.results import COLUMNS, ResultsChunks
from loadcore.summary import Summary
from loadgen.cli import app
from loadgen.merge import merge_results
from loadgen.report import build_summary

UNIT_US = 1_000_000  # second granularity keeps the scheduled times small
ENDPOINTS = [f"fn{i}-0123456789.default.127.0.0.1.sslip.io" for i in range(6)]
FIGURES = ("latency-cdf", "send-lag-cdf", "latency-per-unit", "calls-per-unit", "worst-functions-p99")
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


PROVENANCE = ("20261203T100000Z-0123456789ab", "1/1", "worker-a", 1_796_292_000_000_000)


def results_rows(n: int, units: int = 6, warmup: int = 2, seed: int = 0, provenance: tuple = PROVENANCE) -> list[tuple]:
    """Rows as `invoker replay` writes them, in completion order."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        unit = int(rng.integers(0, units))
        scheduled = unit * UNIT_US + int(rng.integers(0, UNIT_US))
        lag = int(rng.exponential(200))
        endpoint = ENDPOINTS[i % len(ENDPOINTS)]
        latency = int(rng.lognormal(7 + ENDPOINTS.index(endpoint) / 2, 0.5))
        status = "OK" if rng.random() > 0.05 else "UNAVAILABLE"
        error = "" if status == "OK" else 'connect failed: "refused",\nretry later'
        rows.append((
            unit, "warmup" if unit < warmup else "measure", endpoint, str(uuid.UUID(int=int(rng.integers(2**62)))),
            scheduled, scheduled + lag, lag, latency, latency + lag, status, error, latency // 2 if status == "OK" else "",
            "", "", "", "", "",
            *provenance,
        ))
    rows.sort(key=lambda row: row[5] + row[7])
    return rows


def write_results(path, rows) -> str:
    """A results file of `rows`; rows without the newest columns make a file of an older invoker."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS[: len(rows[0])] if rows else COLUMNS)
        writer.writerows(rows)
    return str(path)


def summarise(paths, **options) -> dict:
    """The summary.json document of merged results files."""
    return build_summary(merge_results(paths), **options).to_json()


def run(*args):
    return CliRunner().invoke(app, ["report", *map(str, args)])


def test_merged_shards_report_exactly_what_the_whole_file_reports(tmp_path):
    rows = results_rows(3000)
    whole = write_results(tmp_path / "whole.csv", rows)
    shards = [write_results(tmp_path / f"shard{k}.csv", [r for r in rows if ENDPOINTS.index(r[2]) % 3 == k])
              for k in range(3)]
    one = summarise([whole])
    split = summarise(shards)
    assert split["measured"] == one["measured"]
    assert split["units"] == one["units"]
    assert split["functions"] == one["functions"]
    assert split["warnings"] == [] and one["warnings"] == []
    measured = [r for r in rows if r[1] == "measure"]
    assert one["measured"]["calls"] == len(measured)
    assert one["measured"]["warmup_calls"] == len(rows) - len(measured)
    assert one["measured"]["failures"] == {"UNAVAILABLE": sum(r[9] != "OK" for r in measured)}
    nearest_rank = sorted(r[8] for r in measured)[int(0.99 * len(measured) + 0.5) - 1]
    assert nearest_rank <= one["measured"]["latency_from_schedule_us"]["p99"] <= nearest_rank * 1.001
    assert one["inputs"]["granularity"] == "second" and one["inputs"]["warmup_units"] == 2
    assert one["measured"]["measured_seconds"] == 4.0
    assert [u["issued"] for u in one["units"]] == [sum(r[0] == u for r in rows) for u in range(6)]


def test_small_blocks_read_the_same_rows_as_one_block(tmp_path):
    path = write_results(tmp_path / "r.csv", results_rows(500))
    whole = pd.concat(list(ResultsChunks(path)))
    small = pd.concat(list(ResultsChunks(path, block_bytes=2000)))
    pd.testing.assert_frame_equal(whole.reset_index(drop=True), small.reset_index(drop=True))
    assert len(whole) == 500
    assert whole["error"].str.contains("\n").any()


def test_overlapping_shards_count_each_call_once_and_warn(tmp_path):
    rows = results_rows(1000)
    a = write_results(tmp_path / "a.csv", rows[:700])
    b = write_results(tmp_path / "b.csv", rows[500:])
    summary = summarise([a, b])
    alone = summarise([write_results(tmp_path / "all.csv", rows)])
    assert summary["measured"] == alone["measured"]
    assert summary["files"][1]["duplicate_rows"] == 200
    assert any("b.csv: 200 row(s) repeat invocation ids" in w for w in summary["warnings"])


def test_a_worker_that_stopped_early_is_reported(tmp_path):
    rows = results_rows(1000)
    a = write_results(tmp_path / "a.csv", [r for r in rows if r[2] == ENDPOINTS[0]])
    b = write_results(tmp_path / "b.csv", [r for r in rows if r[2] != ENDPOINTS[0] and r[0] < 3])
    summary = summarise([a, b])
    assert any("b.csv: no rows for unit(s) 3–5" in w for w in summary["warnings"])


def test_cli_writes_summary_and_figures_with_load_and_mapping(tmp_path):
    rows = results_rows(2000)
    results = write_results(tmp_path / "latency.csv", rows)
    scheduled = [sum(r[0] == u for r in rows) + 10 for u in range(6)]
    load = tmp_path / "load.json"
    load.write_text(json.dumps([{"timestamp": list(range(n)), "endpoint": [ENDPOINTS[0]] * n} for n in scheduled]))
    mapping = tmp_path / "mapping.csv"
    write_mapping(pd.DataFrame([
        {"HashOwner": "o", "HashApp": "a", "HashFunction": f"f{i}", "Trigger": "http", "trace_memory_mb": 100,
         "trace_duration_ms": 10, "proxy": f"proxy-{i}", "proxy_memory_mib": 90, "proxy_duration_ms": 2.5,
         "distance": 0.1, "service": endpoint.split(".")[0], "endpoint": endpoint, "status": "ready",
         "kind": "proxy", "protocol": "sayhello"}
        for i, endpoint in enumerate(ENDPOINTS)
    ], columns=MAPPING_COLUMNS), mapping)
    out = tmp_path / "out"
    result = run(results, "--load", load, "--mapping", mapping, "--output-dir", out)
    assert result.exit_code == 0, result.output
    assert "p99.99" in result.output and "slowdown" in result.output and "issued / scheduled" in result.output
    summary = json.loads((out / "summary.json").read_text())
    measured = summary["measured"]
    assert measured["scheduled_calls"] == sum(scheduled[2:])
    assert measured["calls"] == sum(scheduled[2:]) - 40
    assert measured["scheduled_rps"] == sum(scheduled[2:]) / 4
    assert [u["scheduled"] for u in summary["units"]] == scheduled
    worst = summary["functions"][0]
    assert worst["proxy"] == "proxy-5" and worst["profiled_duration_us"] == 2500
    assert worst["slowdown_p99"] == worst["latency_from_schedule_us"]["p99"] / 2500
    for name in FIGURES:
        assert (out / f"{name}.png").read_bytes().startswith(MAGIC["png"])


@pytest.mark.parametrize("file_format", ["svg", "pdf"])
def test_figure_formats(tmp_path, file_format):
    results = write_results(tmp_path / "latency.csv", results_rows(300))
    result = run(results, "--output-dir", tmp_path, "--format", file_format)
    assert result.exit_code == 0, result.output
    for name in FIGURES:
        assert (tmp_path / f"{name}.{file_format}").read_bytes().startswith(MAGIC[file_format])


def test_partial_last_line_is_tolerated_and_reported(tmp_path):
    rows = results_rows(400)
    path = tmp_path / "latency.csv"
    write_results(path, rows)
    text = path.read_bytes()
    path.write_bytes(text + b"3,measure,fn1-0123456789.default.127.0.0.1.sslip.io,abc,30")
    out = tmp_path / "out"
    result = run(path, "--output-dir", out)
    assert result.exit_code == 0, result.output
    lines = text.count(b"\n")
    assert f"line {lines + 1} is an unterminated last line" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"][0]["partial_last_line"] == lines + 1
    assert summary["files"][0]["rows"] == 400


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda line: line.replace(b",measure,", b",measured,", 1), "column 'phase': 'measured', expected warmup or measure"),
        (lambda line: line.replace(b",OK,", b",OK,,", 1), f"{len(COLUMNS) + 1} fields, expected {len(COLUMNS)} like the header"),
        (lambda line: line.split(b",", 1)[1], f"{len(COLUMNS) - 1} fields, expected {len(COLUMNS)} like the header"),
    ],
)
def test_a_bad_row_in_the_middle_names_file_and_line(tmp_path, damage, message):
    path = tmp_path / "latency.csv"
    rows = [r for r in results_rows(200) if r[9] == "OK" and r[1] == "measure"]
    write_results(path, rows)
    lines = path.read_bytes().split(b"\n")
    lines[50] = damage(lines[50])
    path.write_bytes(b"\n".join(lines))
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert f"{path}: line 51: {message}" in result.output or f"{path}: line 51, {message}" in result.output
    assert "Traceback" not in result.output


def test_a_non_integer_time_names_the_line_after_multiline_errors(tmp_path):
    rows = results_rows(300)
    path = tmp_path / "latency.csv"
    bad = 150
    rows[bad] = rows[bad][:7] + ("12.5ms",) + rows[bad][8:]
    write_results(path, rows)
    line = 1 + bad + 1 + sum(r[10].count("\n") for r in rows[:bad])
    result = run(path)
    assert result.exit_code == 2
    assert f"{path}: line {line}, column 'latency_us': '12.5ms', expected a non-negative integer (µs)" in result.output


def test_missing_columns_and_missing_file(tmp_path):
    path = tmp_path / "latency.csv"
    path.write_text("unit,phase,endpoint\n1,measure,x\n")
    result = run(path)
    assert result.exit_code == 2
    assert f"{path}: line 1: missing column(s) invocation_id, scheduled_us" in result.output
    result = run(tmp_path / "nothing.csv")
    assert result.exit_code == 2
    assert "nothing.csv: file not found" in result.output


def test_endpoints_missing_from_the_mapping_and_a_contradicting_warmup_are_reported(tmp_path):
    results = write_results(tmp_path / "latency.csv", results_rows(300))
    mapping = tmp_path / "mapping.csv"
    write_mapping(pd.DataFrame([
        {"HashOwner": "o", "HashApp": "a", "HashFunction": "f", "Trigger": "http", "trace_memory_mb": 100,
         "trace_duration_ms": 10, "proxy": "proxy-0", "proxy_memory_mib": 90, "proxy_duration_ms": 2.5,
         "distance": 0.1, "service": ENDPOINTS[0].split(".")[0], "endpoint": "", "status": "planned",
         "kind": "proxy", "protocol": "sayhello"}
    ], columns=MAPPING_COLUMNS), mapping)
    out = tmp_path / "out"
    result = run(results, "--mapping", mapping, "--warmup", "1", "--output-dir", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert f"{mapping}: 5 endpoint(s) of the results are not in it" in " ".join(summary["warnings"])
    assert "--warmup 1, but the results tag units up to 1 as warm-up" in " ".join(summary["warnings"])
    matched = [f for f in summary["functions"] if f["proxy"] == "proxy-0"]
    assert [f["endpoint"] for f in matched] == [ENDPOINTS[0]]


def test_a_header_only_file_reports_zero_calls(tmp_path):
    results = write_results(tmp_path / "latency.csv", [])
    result = run(results, "--output-dir", tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["measured"]["calls"] == 0 and summary["units"] == [] and summary["functions"] == []


def test_summary_json_reads_back_into_the_same_typed_summary(tmp_path):
    rows = results_rows(800)
    load = tmp_path / "load.json"
    load.write_text(json.dumps([{"timestamp": [0] * 150, "endpoint": [ENDPOINTS[0]] * 150}] * 6))
    out = tmp_path / "out"
    result = run(write_results(tmp_path / "latency.csv", rows), "--load", load, "--output-dir", out)
    assert result.exit_code == 0, result.output
    summary = Summary.read(out / "summary.json")
    assert summary.to_json() == json.loads((out / "summary.json").read_text())
    assert summary.measured.calls == sum(r[1] == "measure" for r in rows)
    assert summary.units[3].scheduled == 150 and summary.units[3].latency_us["max"] == max(
        r[7] for r in rows if r[0] == 3)
    (tmp_path / "other.json").write_text('{"inputs": {}}')
    with pytest.raises(Exception, match="other.json: not a loadgen summary.json"):
        Summary.read(tmp_path / "other.json")


NO_VALUES = ("",) * (len(COLUMNS) - 11 - len(PROVENANCE)) + PROVENANCE
"""The reply and payload columns of a call with none (after `error`), and the provenance of `results_rows`."""


def one_bad_row(tmp_path, column, value, row=5, rows=None):
    rows = rows or [r for r in results_rows(200) if r[9] == "OK"]
    cells = list(rows[row])
    cells[COLUMNS.index(column)] = value
    rows[row] = tuple(cells)
    return write_results(tmp_path / "latency.csv", rows), 2 + row + sum(r[10].count("\n") for r in rows[:row])


def test_a_stray_quote_is_an_error_naming_its_line_not_a_file_cut_short(tmp_path):
    """One stray '"' in row 10 of 100,000 made report drop 99,991 rows with exit 0."""
    rows = [r for r in results_rows(2000) if r[9] == "OK"]
    path = tmp_path / "latency.csv"
    write_results(path, rows)
    lines = path.read_bytes().split(b"\n")
    lines[10] = lines[10].replace(b",OK,", b',"OK,', 1)
    path.write_bytes(b"\n".join(lines))
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == (f"Error: {path}: line 11: a quoted field opens here and is never closed, taking in the "
                             f"{len(rows) - 9} lines to the end of the file; expected '\"' only around a whole field\n")


@pytest.mark.parametrize("column, value, expected", [
    ("latency_us", "1e20", "1e+20, expected a non-negative integer (µs)"),
    ("latency_us", "inf", "inf, expected a non-negative integer (µs)"),
    ("latency_from_schedule_us", "-inf", "-inf, expected a non-negative integer (µs)"),
    ("latency_us", "nan", "'nan', expected a non-negative integer (µs)"),
    ("latency_us", "-5", "-5, expected a non-negative integer (µs)"),
    ("latency_us", "99999999999999999999", "99999999999999999999, expected a non-negative integer (µs)"),
    ("lag_us", "1e30", "1e+30, expected an integer (µs)"),
    ("unit", "-3", "-3, expected a non-negative integer"),
    ("service_us", "inf", "inf, expected a non-negative integer (µs)"),
    ("shard", "4/3", "'4/3', expected I/N with 1 ≤ I ≤ N ≤ 10,000, or empty"),
    ("shard", "1/10001", "'1/10001', expected I/N with 1 ≤ I ≤ N ≤ 10,000, or empty"),
    ("shard", "1/99999999999999999999", "'1/99999999999999999999', expected I/N with 1 ≤ I ≤ N ≤ 10,000, or empty"),
    ("run_id", "run a", "'run a', expected a run id, 1-128 letters, digits or ._:+- (starting with a letter or digit), "
                        "or empty"),
    ("run_id", "\x1b[2J", "'\\x1b[2J', expected a run id, 1-128 letters, digits or ._:+- (starting with a letter or "
                          "digit), or empty"),
    ("t0_unix_us", "-1", "-1, expected a non-negative integer (µs)"),
    ("t0_unix_us", "1e400", "inf, expected a non-negative integer (µs)"),
    ("t0_unix_us", "253402300800000000", "253402300800000000, expected Unix µs before the year 10000"),
])  # fmt: skip
def test_absurd_values_are_errors_not_calls_of_0_us(tmp_path, column, value, expected):
    """1e20, inf and -inf latencies were counted as 0 µs calls; a shard, run id or t0 no worker
    writes would make up a worker."""
    path, line = one_bad_row(tmp_path, column, value)
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {path}: line {line}, column {column!r}: ")
    assert result.output.strip().endswith(expected) or "not within unit" in result.output


@pytest.mark.parametrize("unit, scheduled, expected", [
    (0, 2**63 - 1, "9223372036854775807 is more than 14 days after t0"),
    (3, 2_500_000, "2500000 is not within unit 3, neither in its second nor in its minute"),
    (10**8, 10**8 * 1_000_000 + 5, "100000000000005 is more than 14 days after t0"),
])  # fmt: skip
def test_a_call_due_outside_its_unit_is_an_error(tmp_path, unit, scheduled, expected):
    """One row with scheduled_us 2^63 - 1 or unit -3 flipped the inferred granularity (rates 60x off);
    one with unit 10^8 made a report of 10^8 units (6 GB in 26 s)."""
    rows = [r for r in results_rows(200) if r[9] == "OK"]
    rows[5] = (unit, "measure", *rows[5][2:4], scheduled, scheduled, 0, *rows[5][7:])
    path = write_results(tmp_path / "latency.csv", rows)
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: line 7, column 'scheduled_us': {expected}\n"


def test_one_row_timed_in_minutes_among_seconds_does_not_flip_the_granularity(tmp_path):
    rows = [r for r in results_rows(200) if r[9] == "OK" and r[0] > 0]
    rows.append((0, "warmup", ENDPOINTS[0], str(uuid.uuid4()), 30_000_000, 30_000_005, 5, 100, 105, "OK", "", *NO_VALUES))
    path = write_results(tmp_path / "latency.csv", rows)
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: some rows are timed in seconds, others in minutes; expected the results of one run\n"


def test_a_report_of_more_units_than_it_can_hold_is_refused_quickly(tmp_path):
    rows = [r for r in results_rows(50) if r[9] == "OK"]
    far = 200_000
    rows.append((far, "measure", ENDPOINTS[0], str(uuid.uuid4()), far * UNIT_US, far * UNIT_US + 5, 5, 100, 105, "OK", "",
                 *NO_VALUES))
    result = run(write_results(tmp_path / "latency.csv", rows), "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == ("Error: the run covers 200,001 units (the results or --warmup + --duration reach unit "
                             "200,000); a report covers at most 100,000, a day of seconds\n")
    result = run(write_results(tmp_path / "ok.csv", rows[:-1]), "--duration", "100000000", "--output-dir", tmp_path)
    assert result.exit_code == 2 and "a report covers at most 100,000" in result.output


def test_mapping_with_shared_proxies_names_each_shared_service(tmp_path):
    """`report --mapping` on any --share-proxies mapping.csv was a traceback."""
    shared = [f"proxy-{i // 3}-0123456789.default.127.0.0.1.sslip.io" for i in range(6)]
    rows = [r[:2] + (shared[ENDPOINTS.index(r[2])],) + r[3:] for r in results_rows(600)]
    mapping = tmp_path / "mapping.csv"
    write_mapping(pd.DataFrame([
        {"HashOwner": "o", "HashApp": "a", "HashFunction": f"f{i}", "Trigger": "http", "trace_memory_mb": 100,
         "trace_duration_ms": 10, "proxy": f"proxy-{i // 3}", "proxy_memory_mib": 90, "proxy_duration_ms": 2.5 * (1 + i // 3),
         "distance": 0.1, "service": f"proxy-{i // 3}-f{i}", "endpoint": endpoint, "status": "ready", "kind": "proxy",
         "protocol": "sayhello"}
        for i, endpoint in enumerate(shared)
    ], columns=MAPPING_COLUMNS), mapping)
    out = tmp_path / "out"
    result = run(write_results(tmp_path / "latency.csv", rows), "--mapping", mapping, "--output-dir", out)
    assert result.exit_code == 0, result.output
    functions = {f["endpoint"]: f for f in json.loads((out / "summary.json").read_text())["functions"]}
    assert set(functions) == set(shared)
    assert [(f["service"], f["proxy"], f["profiled_duration_us"]) for f in sorted(functions.values(), key=lambda f: f["proxy"])] == [
        ("proxy-0-0123456789", "proxy-0", 2500.0), ("proxy-1-0123456789", "proxy-1", 5000.0)]


def test_data_is_printed_as_data_escapes_and_markup_included(tmp_path):
    """Terminal escapes in endpoints were printed raw; Rich markup in statuses, endpoints or
    paths raised MarkupError or vanished; a '$' in a name broke the worst-functions figure."""
    hostile = ["\x1b[31mred\x1b[0m.example.com", "a[/].example.com", "c\u202eexe.example.com", r"x$\frac$y.example.com"]
    rows = [(1, "measure", endpoint, str(uuid.uuid4()), UNIT_US + i, UNIT_US + i + 5, 5, 100, 105,
             "[bold]X[/]" if i == 1 else "\x1b]0;title\x07" if i == 2 else "OK", "", *NO_VALUES) for i, endpoint in enumerate(hostile)]
    out = tmp_path / "[/]out"
    result = run(write_results(tmp_path / "[red]r.csv", rows), "--output-dir", out)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x07" not in result.output
    for shown in (r"\x1b[31mred\x1b[0m", "a[/]", r"c\u202eexe", r"x$\frac$y", "failed: [bold]X[/]", r"failed: \x1b]0;title\x07",
                  f"wrote {out}/summary.json"):
        assert shown in result.output
    assert (out / "worst-functions-p99.png").read_bytes().startswith(MAGIC["png"])


def shard_files(tmp_path, rows, labels, hosts=None, t0s=None, run="run-a") -> list[str]:
    """Rows split by function over workers with these shard labels (and hosts, t0s)."""
    files = []
    for k, label in enumerate(labels):
        provenance = (run, label, (hosts or [f"node-{k}"] * len(labels))[k], (t0s or [PROVENANCE[3]] * len(labels))[k])
        mine = [r[:-len(provenance)] + provenance for r in rows if ENDPOINTS.index(r[2]) % len(labels) == k]
        files.append(write_results(tmp_path / f"w{k}.csv", mine))
    return files


def test_per_worker_breakdown_counts_each_workers_measured_calls(tmp_path):
    rows = results_rows(3000)
    files = shard_files(tmp_path, rows, ["1/3", "2/3", "3/3"], t0s=[PROVENANCE[3], PROVENANCE[3] + 250, PROVENANCE[3]])
    summary = summarise(files)
    assert summary["warnings"] == []  # 0.25 ms apart is within the default 1 ms
    workers = summary["workers"]
    assert [(w["shard"], w["host"], w["files"], w["t0_offset_us"]) for w in workers] == [
        ("1/3", "node-0", [files[0]], 0), ("2/3", "node-1", [files[1]], 250), ("3/3", "node-2", [files[2]], 0)]
    for k, worker in enumerate(workers):
        mine = [r for r in rows if ENDPOINTS.index(r[2]) % 3 == k]
        measured = [r for r in mine if r[1] == "measure"]
        assert worker["calls"] == len(measured) and worker["warmup_calls"] == len(mine) - len(measured)
        assert worker["errors"] == sum(r[9] != "OK" for r in measured)
        assert worker["send_lag_us"]["max"] == max(r[6] for r in measured)
    assert sum(w["calls"] for w in workers) == summary["measured"]["calls"]
    late = summarise(files, t0_tolerance_ms=0.1)["warnings"]
    assert late == [f"run run-a: t0 differs by 0.250 ms between workers (shard 1/3 on node-0 at "
                    f"2026-12-03T10:00:00.000Z first, shard 2/3 on node-1 at 2026-12-03T10:00:00.000Z last): their "
                    f"schedules are that far apart; start every shard with one --start-at"]


def test_a_missing_a_doubled_and_a_foreign_shard_are_reported(tmp_path):
    rows = results_rows(1200)
    missing = summarise(shard_files(tmp_path, rows, ["1/4", "2/4", "4/4"]))["warnings"]
    assert missing == ["run run-a: no rows from shard(s) 3 of 4: their calls are missing, unless those shards had none"]
    doubled = summarise(shard_files(tmp_path, rows, ["1/2", "2/2", "2/2"], hosts=["a", "b", "c"]))["warnings"]
    assert doubled == ["run run-a: shard 2/2 comes from 2 workers (shard 2/2 on b at 2026-12-03T10:00:00.000Z, "
                       "shard 2/2 on c at 2026-12-03T10:00:00.000Z): the calls of each are counted"]
    foreign = summarise(shard_files(tmp_path, rows, ["1/2", "2/3"]))["warnings"]
    assert foreign == ["run run-a: shards of 2 and 3 workers (1/2, 2/3): the shards do not partition one load"]


def test_files_from_before_the_provenance_columns_still_read_one_worker_each(tmp_path):
    rows = results_rows(600)
    old = []
    for k, width in enumerate((12, 15)):  # the first columns, then with the synthetic functions' columns
        path = tmp_path / f"old{k}.csv"
        with open(path, "w", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(COLUMNS[:width])
            writer.writerows(r[:width] for r in rows[k::2])
        old.append(str(path))
    summary = summarise(old)
    assert summary["warnings"] == [] and summary["measured"]["calls"] == sum(r[1] == "measure" for r in rows)
    assert [(w["run_id"], w["shard"], w["host"], w["t0_unix_us"], w["files"]) for w in summary["workers"]] == [
        (None, None, None, None, [old[0]]), (None, None, None, None, [old[1]])]
    table = pd.concat(list(ResultsChunks(old[0])))
    assert (table["run_id"] == "").all() and table["t0_unix_us"].isna().all()
    new = write_results(tmp_path / "new.csv", rows)
    with pytest.raises(InputError, match=r"new.csv: rows of run '20261203T100000Z-0123456789ab', but .*old0.csv has "
                                         r"run \(none: a file from before run ids\)"):
        merge_results([old[0], new])


def test_the_workers_are_printed_and_drawn_as_data(tmp_path):
    """Hosts come from results files: an escape or markup in one must not reach the terminal
    as such, nor a '$' break the send-lag figure's legend."""
    hosts = ["\x1b[31mred\x1b[0m", "[bold]b[/]", r"x$\frac$y"]
    files = shard_files(tmp_path, results_rows(900), ["1/3", "2/3", "3/3"], hosts=hosts)
    out = tmp_path / "out"
    result = run(*files, "--output-dir", out)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    for shown in (r"\x1b[31mred\x1b[0m", "[bold]b[/]", r"x$\frac$y"):
        assert shown in result.output
    assert (out / "send-lag-cdf.png").read_bytes().startswith(MAGIC["png"])


@pytest.mark.parametrize("value", ["nan", "-1", "inf"])
def test_a_t0_tolerance_that_would_silence_or_break_the_check_is_refused(tmp_path, value):
    result = run(write_results(tmp_path / "latency.csv", results_rows(50)), "--t0-tolerance", value,
                 "--output-dir", tmp_path)  # fmt: skip
    assert result.exit_code == 2
    assert result.output == f"Error: --t0-tolerance {float(value):g}: expected a finite number of milliseconds, 0 or more\n"


def test_a_report_of_more_workers_than_it_can_hold_is_refused(tmp_path):
    rows = [r[:-2] + (f"h{i}",) + r[-1:] for i, r in enumerate(results_rows(10_001))]
    path = write_results(tmp_path / "latency.csv", rows)
    result = run(path, "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == (f"Error: {path}: rows of more than 10,000 workers (distinct run_id, shard, host and "
                             "t0_unix_us); a report covers at most 10,000, the most shards of a run\n")


def test_the_console_shows_the_workers_and_an_older_summary_json_still_reads(tmp_path):
    files = shard_files(tmp_path, results_rows(900), ["1/2", "2/2"], hosts=["alpha", "beta"])
    out = tmp_path / "out"
    result = run(*files, "--output-dir", out)
    assert result.exit_code == 0, result.output
    assert "Workers of run run-a (measured phase)" in result.output
    assert [line.split("│")[1:3] for line in result.output.splitlines() if "alpha" in line or "beta" in line][-2:] == [
        [" 1/2   ", " alpha "], [" 2/2   ", " beta  "]]
    document = json.loads((out / "summary.json").read_text())
    assert Summary.read(out / "summary.json").workers[1].host == "beta"
    del document["workers"]
    (out / "old.json").write_text(json.dumps(document))
    assert Summary.read(out / "old.json").workers == []
