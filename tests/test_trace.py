"""Trace reading: the shipped sample, CSV variants, and every class of bad input."""

import numpy as np
import pytest

from loadcore import shipped
from loadcore.errors import InputError
from loadgen.traces import read_trace
from tracefiles import trace_rows

COUNTS = [[1, 0, 3, 4], [0, 0, 0, 0], [5, 6, 7, 8]]


def test_shipped_sample_trace_matches_its_documented_figures():
    trace = read_trace(shipped.trace_dir())
    assert trace.counts.shape == (250, 150)
    assert trace.counts.dtype == np.int64
    assert int(trace.counts.sum()) == 324_209
    assert trace.units[0] == "540" and trace.units[-1] == "689"
    per_minute = trace.counts.sum(axis=0)
    assert (per_minute.min(), per_minute.max()) == (1708, 2864)
    assert trace.functions["Trigger"].value_counts().to_dict() == {
        "timer": 122, "http": 67, "queue": 32, "orchestration": 13, "event": 10, "storage": 6,
    }  # fmt: skip
    assert (trace.duration_ms(75) == 0).sum() == 4
    assert trace.memory_mb(75).max() == 1212.0
    assert trace.skipped == {}


def test_counts_and_percentiles_follow_the_invocation_file_order(tmp_path):
    trace = read_trace(trace_rows(COUNTS).write(tmp_path))
    assert trace.counts.tolist() == COUNTS
    assert trace.units == ["1", "2", "3", "4"]
    assert trace.functions["HashFunction"].tolist() == ["func00", "func01", "func02"]
    assert trace.duration_ms(50).tolist() == [10, 20, 30]
    assert trace.memory_mb(75).tolist() == [100, 200, 300]
    assert trace.unit_us == 60_000_000
    assert read_trace(tmp_path, granularity="second").unit_us == 1_000_000


@pytest.mark.parametrize("newline, bom", [("\r\n", False), ("\n", True), ("\r\n", True)])
def test_bom_and_crlf_are_read_like_plain_files(tmp_path, newline, bom):
    trace = read_trace(trace_rows(COUNTS).write(tmp_path, newline=newline, bom=bom))
    assert trace.counts.tolist() == COUNTS
    assert trace.functions["HashOwner"].tolist() == ["owner00", "owner01", "owner02"]
    assert trace.duration_ms(75).tolist() == [10, 20, 30]


def test_columns_are_found_by_name_in_any_order_and_case(tmp_path):
    rows = trace_rows(COUNTS)
    for table in (rows.invocations, rows.durations, rows.memory):
        order = list(reversed(range(len(table[0]))))
        table[:] = [[row[i] for i in order] for row in table]
    rows.durations[0] = [name.lower() for name in rows.durations[0]]
    trace = read_trace(rows.write(tmp_path))
    assert trace.units == ["4", "3", "2", "1"]
    assert trace.counts.tolist() == [list(reversed(r)) for r in COUNTS]
    assert trace.duration_ms(75).tolist() == [10, 20, 30]


def test_official_file_names_are_found(tmp_path):
    rows = trace_rows(COUNTS)
    rows.names = {
        "invocations": "invocations_per_function_md.anon.d01.csv",
        "durations": "function_durations_percentiles.anon.d01.csv",
        "memory": "app_memory_percentiles.anon.d01.csv",
    }
    assert read_trace(rows.write(tmp_path)).counts.tolist() == COUNTS


def test_per_app_memory_gives_every_function_of_the_app_the_apps_memory(tmp_path):
    rows = trace_rows(COUNTS, apps=[0, 0, 2], per_app_memory=True)
    assert len(rows.memory[0]) == 12
    trace = read_trace(rows.write(tmp_path))
    assert trace.memory_mb(75).tolist() == [100, 100, 300]
    assert trace.counts.tolist() == COUNTS


def test_functions_missing_from_durations_or_memory_are_skipped_and_counted(tmp_path):
    rows = trace_rows(COUNTS)
    del rows.durations[2]
    del rows.memory[3]
    trace = read_trace(rows.write(tmp_path))
    assert trace.functions["HashFunction"].tolist() == ["func00"]
    assert trace.counts.tolist() == [COUNTS[0]]
    assert trace.skipped == {"durations": 1, "memory": 1}


def test_strict_makes_a_missing_function_an_error(tmp_path):
    rows = trace_rows(COUNTS)
    del rows.memory[2]
    with pytest.raises(InputError, match=r"invocations.csv: line 3: function owner01/app01/func01 is missing from .*memory.csv"):
        read_trace(rows.write(tmp_path), strict=True)


def test_window_longer_than_the_trace_is_an_error(tmp_path):
    trace = read_trace(trace_rows(COUNTS).write(tmp_path))
    assert trace.window(1, 1, 2).tolist() == [r[1:4] for r in COUNTS]
    with pytest.raises(InputError, match=r"invocations.csv: the window --start 1 \+ --warmup 2 \+ --duration 2 = 5 minutes, but the trace has only 4 count columns"):
        trace.window(1, 2, 2)


def _broken(tmp_path, edit):
    rows = trace_rows(COUNTS)
    edit(rows)
    return rows.write(tmp_path)


BAD_INPUTS = {
    "non-numeric count": (
        lambda r: r.invocations[2].__setitem__(5, "abc"),
        r"invocations.csv: line 3, column '2': 'abc' is not a number, expected a non-negative integer",
    ),
    "negative count": (
        lambda r: r.invocations[3].__setitem__(4, "-1"),
        r"invocations.csv: line 4, column '1': -1 is negative, expected a non-negative integer",
    ),
    "fractional count": (
        lambda r: r.invocations[1].__setitem__(7, "2.5"),
        r"invocations.csv: line 2, column '4': 2.5 is not an integer",
    ),
    "empty count": (
        lambda r: r.invocations[1].__setitem__(6, ""),
        r"invocations.csv: line 2, column '3': empty, expected a non-negative integer",
    ),
    "empty duration (NaN)": (
        lambda r: r.durations[2].__setitem__(11, ""),
        r"durations.csv: line 3, column 'percentile_Average_75': empty, expected a non-negative number",
    ),
    "NaN text in memory": (
        lambda r: r.memory[1].__setitem__(9, "NaN"),
        r"memory.csv: line 2, column 'AverageAllocatedMb_pct75': 'NaN' is not a number",
    ),
    "negative memory": (
        lambda r: r.memory[3].__setitem__(12, "-5"),
        r"memory.csv: line 4, column 'AverageAllocatedMb_pct100': -5 is negative",
    ),
    "duplicate function": (
        lambda r: r.invocations.append(list(r.invocations[1])),
        r"invocations.csv: lines 2 and 5: duplicate HashOwner/HashApp/HashFunction owner00/app00/func00, expected one row per function",
    ),
    "duplicate in durations": (
        lambda r: r.durations.insert(2, list(r.durations[3])),
        r"durations.csv: lines 3 and 5: duplicate HashOwner/HashApp/HashFunction owner02/app02/func02",
    ),
    "empty function id": (
        lambda r: r.invocations[2].__setitem__(2, ""),
        r"invocations.csv: line 3, column 'HashFunction': empty, expected a value",
    ),
    "row with an extra field": (
        lambda r: r.invocations[2].append("9"),
        r"invocations.csv: line 3: 9 fields, expected 8 like the header",
    ),
    "row with a missing field": (
        lambda r: r.durations[3].pop(),
        r"durations.csv: line 4: 13 fields, expected 14 like the header",
    ),
    "ragged row in a file with quoted fields": (
        lambda r: (r.invocations[1].__setitem__(3, '"ht,tp"'), r.invocations[3].pop()),
        r"invocations.csv: line 4: 7 fields, expected 8 like the header",
    ),
    "blank line in the middle": (
        lambda r: r.memory.insert(2, []),
        r"memory.csv: line 3: 1 fields, expected 13 like the header",
    ),
    "missing column": (
        lambda r: [row.pop(11) for row in r.durations],
        r"durations.csv: missing column 'percentile_Average_75' in the header",
    ),
    "missing Trigger": (
        lambda r: [row.pop(3) for row in r.invocations],
        r"invocations.csv: missing column 'Trigger'",
    ),
    "no count columns": (
        lambda r: [row.__delitem__(slice(4, None)) for row in r.invocations],
        r"invocations.csv: line 1: no count columns",
    ),
    "duplicate column name": (
        lambda r: r.invocations[0].__setitem__(5, "1"),
        r"invocations.csv: line 1: column '1' appears twice",
    ),
    "header only": (
        lambda r: r.memory.__delitem__(slice(1, None)),
        r"memory.csv: no data rows after the header",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_names_file_line_and_column(tmp_path, case):
    edit, message = BAD_INPUTS[case]
    with pytest.raises(InputError, match=message):
        read_trace(_broken(tmp_path, edit))


def test_missing_file_and_folder_are_errors(tmp_path):
    trace_rows(COUNTS).write(tmp_path)
    (tmp_path / "memory.csv").unlink()
    with pytest.raises(InputError, match=r"expected one memory file \(memory.csv or \*memory\*.csv\), found none"):
        read_trace(tmp_path)
    with pytest.raises(InputError, match=r"nowhere: trace folder not found"):
        read_trace(tmp_path / "nowhere")


def test_empty_file_is_an_error(tmp_path):
    trace_rows(COUNTS).write(tmp_path)
    (tmp_path / "durations.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"durations.csv: empty file"):
        read_trace(tmp_path)


def test_undecodable_bytes_are_an_error_with_the_line(tmp_path):
    trace_rows(COUNTS).write(tmp_path)
    path = tmp_path / "invocations.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"func01", b"func\xff1")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"invocations.csv: line 3: undecodable byte 0xff, expected UTF-8 text"):
        read_trace(tmp_path)
