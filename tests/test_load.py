"""load.json: exact counts, format, IAT distributions, shift, seeds."""

import json

import numpy as np
import pytest
from scipy import stats

from loadcore.errors import InputError
from loadgen.load import SYNTHETIC_IATS, UnitStreams, unit_calls, write_load

MINUTE = 60_000_000
SECOND = 1_000_000


def _load(tmp_path, counts, iat="exponential", shift=True, seed=7, unit_us=MINUTE, first_column=0, name="load.json"):
    counts = np.asarray(counts, dtype=np.int64)
    endpoints = [f"fn{i}.default.example.com" for i in range(counts.shape[0])]
    path = tmp_path / name
    write_load(path, counts, endpoints, unit_us, iat, shift, seed, first_column)
    return json.loads(path.read_text()), path


@pytest.mark.parametrize("shift", [True, False])
@pytest.mark.parametrize("iat", SYNTHETIC_IATS)
def test_every_unit_of_every_function_has_exactly_the_trace_count(tmp_path, iat, shift):
    counts = np.random.default_rng(1).integers(0, 300, size=(40, 6))
    counts[3] = 0
    counts[:, 4] = 0
    units, _ = _load(tmp_path, counts, iat, shift, unit_us=SECOND)
    assert len(units) == 6
    for u, unit in enumerate(units):
        assert list(unit) == ["timestamp", "endpoint"]
        assert len(unit["timestamp"]) == len(unit["endpoint"])
        assert unit["timestamp"] == sorted(unit["timestamp"])
        assert all(0 <= t < SECOND for t in unit["timestamp"])
        per_function = [unit["endpoint"].count(f"fn{i}.default.example.com") for i in range(40)]
        assert per_function == counts[:, u].tolist()
    assert units[4] == {"timestamp": [], "endpoint": []}


def test_colliding_timestamps_are_all_kept(tmp_path):
    units, _ = _load(tmp_path, [[3], [3], [3]], "equidistant", shift=False)
    assert units[0]["timestamp"] == [0, 0, 0, 20_000_000, 20_000_000, 20_000_000, 40_000_000, 40_000_000, 40_000_000]
    assert units[0]["endpoint"][:3] == ["fn0.default.example.com", "fn1.default.example.com", "fn2.default.example.com"]


def test_equidistant_with_shift_keeps_the_spacing_and_rotates_each_function(tmp_path):
    units, _ = _load(tmp_path, [[4, 4], [4, 4]], "equidistant", shift=True)
    firsts = set()
    for unit in units:
        for function in ("fn0.default.example.com", "fn1.default.example.com"):
            times = np.array([t for t, e in zip(unit["timestamp"], unit["endpoint"]) if e == function])
            gaps = np.diff(np.concatenate([times, [times[0] + MINUTE]]))
            assert np.all(np.abs(gaps - MINUTE // 4) <= 1)
            firsts.add(int(times[0]))
    assert len(firsts) == 2 and 0 not in firsts


def _positions(iat, n, seed=3, shift=False):
    offsets, _ = unit_calls(np.array([n]), iat, UnitStreams(seed)(0), MINUTE, np.array([0.37]) if shift else None)
    return offsets / MINUTE


@pytest.mark.parametrize("shift", [False, True])
def test_exponential_is_a_poisson_process_given_the_count(shift):
    x = _positions("exponential", 20_000, shift=shift)
    assert stats.kstest(x, "uniform").pvalue > 0.01
    gaps = np.diff(x) * x.size
    assert stats.kstest(gaps, "expon").pvalue > 0.01


def test_uniform_has_uniform_gaps():
    x = _positions("uniform", 20_000)
    gaps = np.diff(x) * (x.size + 1)
    assert stats.kstest(gaps, "uniform", args=(0, 2)).pvalue > 0.01
    assert stats.kstest(gaps, "expon").pvalue < 1e-6


def test_exponential_is_not_front_loaded_in_every_unit(tmp_path):
    units, _ = _load(tmp_path, [[50] * 20] * 10, "exponential")
    first_quarter = np.mean([t < MINUTE / 4 for unit in units for t in unit["timestamp"]])
    assert 0.22 < first_quarter < 0.28


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    counts = np.random.default_rng(2).integers(0, 50, size=(20, 5))
    _, first = _load(tmp_path, counts, seed=11, name="a.json")
    _, second = _load(tmp_path, counts, seed=11, name="b.json")
    _, third = _load(tmp_path, counts, seed=12, name="c.json")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != third.read_bytes()


def test_a_units_calls_do_not_depend_on_where_the_window_starts(tmp_path):
    counts = np.random.default_rng(4).integers(0, 50, size=(10, 6))
    whole, _ = _load(tmp_path, counts, name="whole.json")
    part, _ = _load(tmp_path, counts[:, 2:5], first_column=2, name="part.json")
    assert part == whole[2:5]


def test_an_unwritable_output_is_an_error_and_leaves_no_partial_file(tmp_path):
    with pytest.raises(InputError, match=r"missing/load.json: cannot write"):
        write_load(tmp_path / "missing" / "load.json", np.ones((1, 1), dtype=np.int64), ["a"], MINUTE)
    assert list(tmp_path.iterdir()) == []
