"""Every trace layout (official 14-day Azure 2019 folder, invitro 2022, Azure 2021), detection,
windows, and the bad inputs each layout can have."""

import numpy as np
import pytest

from loadcore.errors import InputError
from loadgen.traces import MAX_CALLS_PER_SECOND, Window, read_trace
from tracefiles import invitro2022_rows, official_day, trace_rows, write_calls

COUNTS = [[1, 0, 3, 4], [0, 2, 0, 0], [5, 6, 7, 8]]


def _days(tmp_path, days, memory_days=None):
    """An official folder with the given days, day d's counts being COUNTS × d."""
    for day in days:
        rows = official_day(trace_rows([[c * day for c in row] for row in COUNTS], apps=[0, 0, 2], per_app_memory=True), day)
        rows.write(tmp_path)
        if day not in (memory_days or [d for d in days if d <= 12]):
            (tmp_path / rows.names["memory"]).unlink()
    return tmp_path


def test_official_folder_reads_the_day_asked_for(tmp_path):
    trace = read_trace(_days(tmp_path, [1, 2, 3]), day=2)
    assert trace.counts.tolist() == [[c * 2 for c in row] for row in COUNTS]
    assert trace.files["invocations"].name == "invocations_per_function_md.anon.d02.csv"
    assert trace.files["memory"].name == "app_memory_percentiles.anon.d02.csv"
    assert (trace.layout, trace.day, trace.memory_day) == ("azure2019", 2, 2)
    assert trace.memory_mb(75).tolist() == [100, 100, 300]
    assert trace.notes() == ["day 2 of the Azure 2019 trace"]


def test_official_folder_with_several_days_needs_day(tmp_path):
    with pytest.raises(InputError, match=r"the official Azure 2019 files of days 1, 2, 13; pick one with --day N$"):
        read_trace(_days(tmp_path, [1, 2, 13]))


def test_one_official_day_needs_no_day(tmp_path):
    assert read_trace(_days(tmp_path, [4])).counts.tolist() == [[c * 4 for c in row] for row in COUNTS]


def test_missing_day_is_an_error_listing_the_days(tmp_path):
    with pytest.raises(InputError, match=r"no invocations file for day 5 \(invocations_per_function_md.anon.d05.csv\); days found: 1, 2"):
        read_trace(_days(tmp_path, [1, 2]), day=5)


def test_days_13_and_14_need_a_memory_day(tmp_path):
    folder = _days(tmp_path, [1, 13])
    with pytest.raises(InputError, match=r"day 13 has no memory file: the Azure 2019 trace has memory for days 1-12 only; .* --memory-day M"):
        read_trace(folder, day=13)
    trace = read_trace(folder, day=13, memory_day=1)
    assert trace.counts.tolist() == [[c * 13 for c in row] for row in COUNTS]
    assert trace.files["memory"].name == "app_memory_percentiles.anon.d01.csv"
    assert trace.notes() == ["day 13 of the Azure 2019 trace", "memory of the apps from day 1 (--memory-day)"]
    with pytest.raises(InputError, match=r"--memory-day 13: the Azure 2019 trace has memory for days 1-12 only"):
        read_trace(folder, day=1, memory_day=13)


def test_a_missing_memory_day_names_the_days_with_memory(tmp_path):
    folder = _days(tmp_path, [1, 2], memory_days=[2])
    with pytest.raises(InputError, match=r"no memory file for day 1 \(app_memory_percentiles.anon.d01.csv\); days with memory: 2"):
        read_trace(folder, day=1)


def test_day_options_are_errors_for_other_layouts(tmp_path):
    folder = trace_rows(COUNTS).write(tmp_path)
    with pytest.raises(InputError, match=r"--day picks one of the official Azure 2019 day files"):
        read_trace(folder, day=1)
    with pytest.raises(InputError, match=r"--memory-mb is for traces without memory \(azure2021\)"):
        read_trace(folder, memory_mb=100)


def test_invitro_2022_layout(tmp_path):
    invitro2022_rows(COUNTS, apps=[0, 0, 2]).write(tmp_path)
    trace = read_trace(tmp_path)
    assert trace.layout == "invitro2022"
    assert trace.counts.tolist() == COUNTS
    assert trace.units == ["minute_1", "minute_2", "minute_3", "minute_4"]
    assert trace.functions["Trigger"].tolist() == ["", "", ""]
    assert trace.functions["HashFunction"].tolist() == ["func00", "func01", "func02"]
    assert trace.memory_mb(50).tolist() == [100, 100, 300]
    assert trace.duration_ms(75).tolist() == [10, 20, 30]


def test_several_invitro_samples_are_picked_by_naming_a_file(tmp_path):
    invitro2022_rows(COUNTS, prefix="50").write(tmp_path)
    invitro2022_rows([[9, 9, 9, 9]], prefix="10").write(tmp_path)
    with pytest.raises(InputError, match=r"invitro samples 10, 50: pick one by naming one of its files, e.g. --trace .*10_inv.csv"):
        read_trace(tmp_path)
    assert read_trace(tmp_path / "10_run.csv").counts.tolist() == [[9, 9, 9, 9]]
    assert read_trace(tmp_path / "50_inv.csv").counts.tolist() == COUNTS


def test_mixed_layouts_in_one_folder_are_an_error(tmp_path):
    trace_rows(COUNTS).write(tmp_path)
    official_day(trace_rows(COUNTS), 1).write(tmp_path)
    with pytest.raises(InputError, match=r"mixed trace layouts: the official Azure 2019 day files \(days 1\); the trace files durations.csv, invocations.csv, memory.csv; keep one trace per folder"):
        read_trace(tmp_path)


def test_format_picks_one_layout_of_a_mixed_folder(tmp_path):
    trace_rows(COUNTS).write(tmp_path)
    write_calls(tmp_path / "calls.txt", [("a", "f", 1.5, 0.5)])
    with pytest.raises(InputError, match=r"mixed trace layouts: .*; the 2021 per-invocation trace calls.txt; pass --format to pick one"):
        read_trace(tmp_path)
    assert read_trace(tmp_path, trace_format="azure2019").counts.tolist() == COUNTS
    assert read_trace(tmp_path, trace_format="azure2021").counts.tolist() == [[1]]


@pytest.mark.parametrize("files", [[], ["notes.txt"], ["data.csv"]])
def test_unknown_layout_is_an_error(tmp_path, files):
    for name in files:
        (tmp_path / name).write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"no trace found: expected invocations.csv, durations.csv and memory.csv, the official"):
        read_trace(tmp_path)


def test_a_file_that_is_no_trace_is_an_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"x.csv: not a trace file: expected .* app, func, end_timestamp, duration"):
        read_trace(path)


def test_only_the_window_is_read_and_it_must_fit(tmp_path):
    rows = trace_rows(COUNTS)
    rows.invocations[1][4] = "junk"
    folder = rows.write(tmp_path)
    trace = read_trace(folder, window=Window.of_run(1, 1, 2))
    assert trace.first_unit == 1 and trace.units == ["1", "2", "3", "4"]
    assert trace.window(1, 1, 2).tolist() == [row[1:] for row in COUNTS]
    with pytest.raises(InputError, match=r"line 2, column '1': 'junk' is not a number"):
        read_trace(folder, window=Window.of_run(0, 0, 2))
    with pytest.raises(InputError, match=r"the window --start 2 \+ --warmup 2 \+ --duration 1 = 5 minutes, but the trace has only 4"):
        read_trace(folder, window=Window.of_run(2, 2, 1))


# --- Azure 2021 ---------------------------------------------------------------------------

CALLS = [  # app, func, end (s), duration (s); func "f" exists in two apps
    ("appA", "f", 10.000001, 0.5),
    ("appB", "f", 61.25, 1.25),
    ("appA", "g", 59.999999, 0.000001),
    ("appA", "f", 130.0, 0.75),
    ("appA", "f", 0.2, 0.3),  # ended 0.2 s in after 0.3 s: starts before the trace
    ("appB", "f", 125.5, 0.0),
]


def _starts_us(calls):
    return [max(round(end * 1e6) - round(duration * 1e6), 0) for _, _, end, duration in calls]


def test_2021_counts_keys_and_durations_come_from_the_calls(tmp_path):
    trace = read_trace(write_calls(tmp_path / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt", CALLS))
    assert trace.layout == "azure2021"
    keys = list(zip(trace.functions["HashApp"], trace.functions["HashFunction"]))
    assert keys == [("appA", "f"), ("appB", "f"), ("appA", "g")]
    assert (trace.functions["HashOwner"] == trace.functions["HashApp"]).all()
    assert (trace.functions["Trigger"] == "").all()
    starts = _starts_us(CALLS)
    expected = np.zeros((3, 3), dtype=int)
    for (app, func, _, _), start in zip(CALLS, starts):
        expected[keys.index((app, func)), start // 60_000_000] += 1
    assert trace.counts.tolist() == expected.tolist()
    assert trace.units == ["1", "2", "3"]
    durations_ms = {key: [d * 1000 for a, f, _, d in CALLS if (a, f) == key] for key in keys}
    for percentile in (0, 1, 25, 50, 75, 99, 100):
        assert trace.duration_ms(percentile) == pytest.approx([np.percentile(durations_ms[k], percentile) for k in keys])
    assert trace.functions["Average"].tolist() == pytest.approx([np.mean(durations_ms[k]) for k in keys])
    assert trace.functions["Count"].tolist() == [3, 2, 1]
    assert trace.memory_mb(75).tolist() == [200, 200, 200]
    assert trace.clamped_starts == 1
    assert "1 calls ended before their duration had passed since the trace start: their start is clamped to 0" in trace.notes()
    assert "the trace has no memory: 200 MB for every function (--memory-mb)" in trace.notes()


def test_2021_calls_keep_their_exact_start_to_the_microsecond(tmp_path):
    trace = read_trace(write_calls(tmp_path / "calls.csv", CALLS))
    order = np.argsort(_starts_us(CALLS), kind="stable")
    assert trace.calls.start_us.tolist() == sorted(_starts_us(CALLS))
    keys = list(zip(trace.functions["HashApp"], trace.functions["HashFunction"]))
    assert trace.calls.function.tolist() == [keys.index(CALLS[i][:2]) for i in order]


def test_2021_window_counts_and_second_granularity(tmp_path):
    path = write_calls(tmp_path / "calls.csv", CALLS)
    trace = read_trace(path, granularity="second", window=Window(60, 70, "--window 60 70"))
    starts = _starts_us(CALLS)
    assert trace.first_unit == 60 and len(trace.units) == 130
    assert int(trace.counts.sum()) == sum(60 <= s // 1_000_000 < 130 for s in starts) == 3
    assert trace.counts[:, 0].tolist() == [0, 1, 0]  # appB/f starts at 60.0 s
    assert read_trace(path, memory_mb=512).memory_mb(50).tolist() == [512, 512, 512]


def test_2021_columns_are_found_by_name_in_any_order(tmp_path):
    calls = [(d, e, f, a) for a, f, e, d in CALLS]
    trace = read_trace(write_calls(tmp_path / "calls.csv", calls, header=["Duration", "END_TIMESTAMP", "func", "app"]))
    assert trace.counts.sum() == len(CALLS)


BAD_CALLS = {
    "non-numeric timestamp": (
        [("a", "f", "1.0", "0.1"), ("a", "f", "noon", "0.1")],
        r"calls.csv: line 3, column 'end_timestamp': 'noon' is not a number, expected a non-negative number",
    ),
    "negative duration": (
        [("a", "f", "1.0", "0.1"), ("a", "f", "2.0", "-0.5")],
        r"calls.csv: line 3, column 'duration': -0.5 is negative, expected a non-negative number",
    ),
    "empty duration": ([("a", "f", "1.0", "")], r"calls.csv: line 2, column 'duration': empty, expected a non-negative number"),
    "empty app": ([("", "f", "1.0", "0.1")], r"calls.csv: line 2, column 'app': empty, expected a value"),
    "ragged row": ([("a", "f", "1.0", "0.1", "9")], r"calls.csv: line 2: 5 fields, expected 4 like the header"),
    "header only": ([], r"calls.csv: no data rows after the header"),
}


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_2021_input_names_file_line_and_column(tmp_path, case):
    calls, message = BAD_CALLS[case]
    with pytest.raises(InputError, match=message):
        read_trace(write_calls(tmp_path / "calls.csv", calls))


def test_empty_2021_file_is_an_error(tmp_path):
    path = tmp_path / "calls.txt"
    path.write_text("")
    with pytest.raises(InputError, match=r"calls.txt: not a trace file"):
        read_trace(path)
    with pytest.raises(InputError, match=r"calls.txt: empty file"):
        read_trace(path, trace_format="azure2021")


# --- counts no replay could issue (issue 14) ------------------------------------------------


@pytest.mark.parametrize(
    "count, shown", [("300000000", "300000000"), ("1000000000000", "1000000000000"), ("99999999999999999999", r"1e\+20")]
)
def test_a_count_no_replay_could_issue_is_refused(tmp_path, count, shown):
    rows = trace_rows(COUNTS)
    rows.invocations[2][5] = count
    with pytest.raises(InputError, match=rf"invocations.csv: line 3, column '2': {shown} is over 60,000,000, more calls in one minute than a replay can issue \(at most 1,000,000 calls/s\)"):
        read_trace(rows.write(tmp_path))


def test_a_unit_of_more_calls_than_a_replay_can_issue_is_refused(tmp_path):
    per_function = MAX_CALLS_PER_SECOND // 2 + 1
    trace = read_trace(trace_rows([[1, per_function], [1, per_function]]).write(tmp_path), granularity="second")
    assert trace.window(0, 0, 1).tolist() == [[1], [1]]
    with pytest.raises(InputError, match=r"count column '2' holds 1,000,002 calls of all functions together, more calls in one second than a replay can issue"):
        trace.window(0, 0, 2)
