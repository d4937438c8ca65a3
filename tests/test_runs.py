"""loadcore.runs: the start instant (`--start-at`) and run ids; invoker.clock: t0 on both clocks."""

import time

import pytest

from invoker.clock import START_MARGIN_NS, T0, clock_moved_us, read_clocks
from loadcore.errors import InputError
from loadcore.runs import MAX_LEAD_S, check_run_id, derive_run_id, parse_start_at, replay_identity
from loadcore.units import format_unix_us, parse_unix_us

NOW = 1_796_292_000_000_000_000  # 2026-12-03T10:00:00Z
S = 1_000_000_000


@pytest.mark.parametrize("text, instant", [
    ("2026-12-03T10:00:30Z", NOW + 30 * S),
    ("2026-12-03t10:00:30z", NOW + 30 * S),
    ("2026-12-03 10:00:30Z", NOW + 30 * S),
    ("2026-12-03T11:00:30+01:00", NOW + 30 * S),
    ("2026-12-03T05:30:30-04:30", NOW + 30 * S),
    ("2026-12-03T10:00:30.5Z", NOW + 30 * S + S // 2),
    ("2026-12-03T10:00:30.000000123Z", NOW + 30 * S + 123),
    ("2026-12-04T09:59:59Z", NOW + (24 * 3600 - 1) * S),
    ("+30", NOW + 30 * S),
    ("+7.25", NOW + 7 * S + S // 4),
    ("+7.0000009", NOW + 7 * S),  # relative instants are whole milliseconds
])  # fmt: skip
def test_start_at_reads_rfc3339_with_any_zone_and_relative_seconds(text, instant):
    assert parse_start_at(text, NOW, 3.0) == instant


@pytest.mark.parametrize("text, message", [
    ("2026-12-03T09:59:00Z", "--start-at '2026-12-03T09:59:00Z': 60.0 s in the past (now 2026-12-03T10:00:00.0Z); "
                             "expected a time at least 3.0 s ahead"),
    ("2026-12-03T10:00:00Z", "--start-at '2026-12-03T10:00:00Z': 0.0 s in the past"),
    ("2025-12-03T10:00:00Z", "--start-at '2025-12-03T10:00:00Z': 365.0 days in the past"),
    ("2026-12-03T10:00:01Z", "--start-at '2026-12-03T10:00:01Z': only 1.0 s ahead (now 2026-12-03T10:00:00.0Z); "
                             "expected at least 3.0 s ahead, for this invoker to read load.json and connect first"),
    ("+0.5", "--start-at '+0.5': only 0.5 s ahead"),
    ("2026-12-05T10:00:00Z", "--start-at '2026-12-05T10:00:00Z': 2.0 days ahead (now 2026-12-03T10:00:00.0Z); "
                             "expected at most 24.0 h ahead"),
    ("+90000", "--start-at '+90000': 25.0 h ahead (now 2026-12-03T10:00:00.0Z); expected at most 24.0 h ahead"),
    ("+1" + "0" * 400, "--start-at '+1" + "0" * 400 + "': inf days ahead"),
    ("2026-12-03T10:00:30", "--start-at '2026-12-03T10:00:30': no time zone; expected Z for UTC (e.g. "
                            "2026-12-03T10:00:30Z) or an offset such as +01:00"),
    ("2026-12-03T10:00:30Z\nx", "--start-at '2026-12-03T10:00:30Z\\nx': expected an RFC 3339 time"),
    ("tomorrow", "--start-at 'tomorrow': expected an RFC 3339 time with a zone (e.g. 2026-12-03T10:00:00Z) or +SECONDS"),
    ("1796292030", "--start-at '1796292030': expected an RFC 3339 time"),
    ("30", "--start-at '30': expected an RFC 3339 time"),
    ("-30", "--start-at '-30': expected an RFC 3339 time"),
    ("+", "--start-at '+': expected an RFC 3339 time"),
    ("2026-12-03T10:00Z", "--start-at '2026-12-03T10:00Z': expected an RFC 3339 time"),
    ("2026-13-03T10:00:00Z", "--start-at '2026-13-03T10:00:00Z': month must be in 1..12; expected an RFC 3339 time"),
    ("2026-02-30T10:00:00Z", "--start-at '2026-02-30T10:00:00Z': day is out of range for month"),
    ("2026-12-03T24:00:00Z", "--start-at '2026-12-03T24:00:00Z': hour must be in 0..23"),
    ("2026-12-03T10:00:00+24:00", "--start-at '2026-12-03T10:00:00+24:00': zone offset +24:00 out of range"),
])  # fmt: skip
def test_bad_start_at_values_are_one_line_errors(text, message):
    with pytest.raises(InputError) as error:
        parse_start_at(text, NOW, 3.0)
    assert error.value.message.startswith(message) and "\n" not in error.value.message


def test_instants_print_in_utc_with_the_digits_asked():
    now_us = NOW // 1000
    assert format_unix_us(now_us + 1_234, 3) == "2026-12-03T10:00:00.001Z"
    assert format_unix_us(now_us + 1_234) == "2026-12-03T10:00:00.001234Z"
    assert format_unix_us(now_us, 0) == "2026-12-03T10:00:00Z"
    assert parse_unix_us(format_unix_us(now_us + 1_234), "--t0") == now_us + 1_234  # --t0 reads what replay prints
    assert MAX_LEAD_S == 24 * 3600


def test_run_ids_are_the_same_for_the_same_start_and_replay_and_differ_otherwise():
    identity = replay_identity("fingerprint", "second", 1, 3, False)
    run = derive_run_id(NOW, identity)
    assert run == derive_run_id(NOW, replay_identity("fingerprint", "second", 1, 3, False))
    assert run.startswith("20261203T100000Z-") and len(run) == len("20261203T100000Z-") + 12
    assert derive_run_id(NOW + S // 4, identity).startswith("20261203T100000.25Z-")
    others = [derive_run_id(NOW + 1, identity)] + [derive_run_id(NOW, replay_identity(*changed)) for changed in (
        ("other", "second", 1, 3, False), ("fingerprint", "minute", 1, 3, False), ("fingerprint", "second", 2, 3, False),
        ("fingerprint", "second", 1, 4, False), ("fingerprint", "second", 1, 3, True))]
    assert len({run, *others}) == 7
    assert check_run_id("exp-2.a:b+c") == "exp-2.a:b+c"
    for bad in ("", "-x", "a,b", "a b", "a\nb", "x" * 129):
        with pytest.raises(InputError, match="--run-id"):
            check_run_id(bad)


def test_t0_is_one_instant_on_both_clocks():
    perf, wall = read_clocks()
    lead = 2 * START_MARGIN_NS
    t0 = T0.at(wall + lead, began_ns=perf)
    assert t0.unix_ns == wall + lead
    assert abs(t0.perf_ns - (perf + lead)) < 2_000_000  # the two reads are ~µs apart, even on a busy machine
    assert abs(clock_moved_us(t0)) < 1_000
    later = T0.after(START_MARGIN_NS)
    assert later.perf_ns - time.perf_counter_ns() <= START_MARGIN_NS and later.unix_ns - later.perf_ns == pytest.approx(
        wall - perf, abs=2_000_000)


def test_a_start_instant_closer_than_the_margin_says_how_much_lead_is_needed():
    perf, wall = read_clocks()
    with pytest.raises(InputError) as error:
        T0.at(wall + START_MARGIN_NS // 2, began_ns=perf - 4 * S)
    message = error.value.message
    assert message.startswith(f"--start-at {format_unix_us((wall + START_MARGIN_NS // 2) // 1000, 3)}: this invoker was ready only ")
    assert "took 4.0 s, so it needs at least 4.1 s of lead" in message
    with pytest.raises(InputError, match=r"ready \d\.\d\d s after it"):
        T0.at(wall - S, began_ns=perf)
