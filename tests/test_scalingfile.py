"""scaling.csv (loadcore.scalingfile): written and read back, bad files are one-line errors."""

import pytest

from loadcore.errors import InputError
from loadcore.scalingfile import COLUMNS, ScalingRow, ScalingWriter, read_scaling

ROWS = [ScalingRow(2_000, "fb", 0, 1, 0, 1, 0), ScalingRow(1_000, "fa", 1, 0, 0, 1, 0), ScalingRow(2_000, "fa", 0, 0, 1, 1, 0)]


def test_rows_written_are_read_back_in_time_order(tmp_path):
    writer = ScalingWriter(tmp_path / "scaling.csv")
    writer.write(ROWS[:1])
    writer.write(ROWS[1:])
    writer.close()
    assert (tmp_path / "scaling.csv").read_text().splitlines()[:2] == [",".join(COLUMNS), "2000,fb,0,1,0,1,0"]
    assert writer.rows_written == 3 and writer.error is None
    table = read_scaling(tmp_path / "scaling.csv")
    assert [ScalingRow(*row) for row in table.itertuples(index=False)] == [ROWS[1], ROWS[0], ROWS[2]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time_us,function,ready,pending,terminating,created\n1,f,0,0,0,0\n", "missing column 'deleted' in the header"),
        ("time_us,function,ready,pending,terminating,created,deleted\n1,f,0,-1,0,0,0\n", "line 2, column 'pending': -1 is negative"),
        ("time_us,function,ready,pending,terminating,created,deleted\n1,,0,0,0,0,0\n", "line 2, column 'function': empty"),
        ("time_us,function,ready,pending,terminating,created,deleted\n1.5,f,0,0,0,0,0\n", "line 2, column 'time_us': 1.5 is not an integer"),
    ],
)
def test_bad_scaling_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "scaling.csv"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_scaling(path)
    assert error.value.message.startswith(f"{path}: {message}")


def test_a_full_disk_stops_writing_and_says_how_many_rows_were_lost(tmp_path):
    writer = ScalingWriter("/dev/full")
    writer.write(ROWS)
    writer.close()
    assert writer.error == ("/dev/full: No space left on device; the file ends at the last row written in full, "
                            "3 rows could not be written")
    assert writer.rows_written == 0 and writer.rows_lost == 3
