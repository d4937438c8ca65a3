"""loadcore.shards: balanced, deterministic shards; `loadgen shards`; `invoker replay --shard`'s share."""

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from invoker.replay import ReplayOptions, load_schedule
from loadcore.loadfile import read_load
from loadcore.shards import plan_shards
from loadgen.cli import app


@pytest.fixture(scope="module")
def shipped_load(tmp_path_factory):
    """load.json of `loadgen generate` with the shipped defaults (trace, profiles, 2 + 20 minutes)."""
    folder = tmp_path_factory.mktemp("shipped")
    result = CliRunner().invoke(app, ["generate", "--output", str(folder / "load.json"),
                                      "--mapping-out", str(folder / "mapping.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "load.json"


def write_load(path, units, **dump):
    path.write_text(json.dumps([{"timestamp": [t for t, _ in calls], "endpoint": [e for _, e in calls]}
                                for calls in units], **dump))  # fmt: skip
    return path


def calls_of(counts, unit_us=1_000_000):
    """One unit with `counts[e]` calls of endpoint `f<e>`, evenly spaced, endpoints interleaved."""
    calls = [(k * unit_us // n, f"f{e}") for e, n in enumerate(counts) for k in range(n)]
    return sorted(calls)


def test_functions_go_whole_to_the_least_loaded_shard_most_calls_first(tmp_path):
    load = read_load(write_load(tmp_path / "load.json", [calls_of([1, 8, 10, 9])]))
    plan = plan_shards(load, 2)
    assert load.endpoints == ("f0", "f1", "f2", "f3")
    assert plan.endpoint_shards == ((0,), (1,), (0,), (1,))  # 10 → 0, 9 → 1, 8 → 1 (9 < 10), 1 → 0 (10 < 17)
    assert plan.shard_calls.tolist() == [11, 17] and plan.max_over_mean == pytest.approx(17 / 14)
    assert plan.label(1) == "2/2"
    ties = plan_shards(read_load(write_load(tmp_path / "ties.json", [calls_of([4, 4, 4, 4])])), 3)
    assert ties.endpoint_shards == ((0,), (1,), (2,), (0,))  # equal counts: first appearance, lowest shard


def test_the_plan_depends_on_the_calls_only_not_on_how_the_file_lays_them_out(tmp_path):
    units = [calls_of([30, 5, 12, 1, 7]), calls_of([2, 40, 3, 3, 9])]
    compact = read_load(write_load(tmp_path / "a.json", units))
    indented = read_load(write_load(tmp_path / "b.json", [[(float(t), e) for t, e in u] for u in units], indent=2))
    for workers, split in ((2, False), (3, True), (4, True)):
        a, b = plan_shards(compact, workers, split), plan_shards(indented, workers, split)
        assert a.call_shard.tolist() == b.call_shard.tolist() and a.endpoint_shards == b.endpoint_shards
    assert compact.fingerprint() == indented.fingerprint()
    assert compact.fingerprint() != read_load(write_load(tmp_path / "c.json", units[:1])).fingerprint()


@pytest.mark.parametrize("workers", [3, 8])
def test_shipped_trace_shards_partition_every_call_and_balance_as_well_as_whole_functions_allow(shipped_load, workers):
    load = read_load(shipped_load, max_units=22)
    total, hottest = len(load.unit), int(np.bincount(load.endpoint_index).max())
    whole = plan_shards(load, workers)
    assert whole.call_shard.min() >= 0 and whole.call_shard.max() < workers
    assert whole.shard_calls.sum() == total == 53_605  # every call in exactly one shard
    for endpoint, shards in enumerate(whole.endpoint_shards):  # a function's calls on one worker
        assert set(whole.call_shard[load.endpoint_index == endpoint].tolist()) == set(shards) and len(shards) == 1
    assert whole.shard_calls.max() == max(hottest, -(-total // workers))  # the busiest holds the hottest function alone
    round_robin = np.bincount(load.endpoint_index % workers, minlength=workers)
    assert whole.shard_calls.max() <= round_robin.max()
    assert whole.imbalance().startswith(f"the busiest of {workers} shards has {whole.max_over_mean:.2f}× the mean calls")

    split = plan_shards(load, workers, split_hot=True)
    assert split.shard_calls.sum() == total and split.shard_calls.max() - split.shard_calls.min() <= 1
    assert split.max_over_mean <= 1 + workers / total and split.imbalance() is None
    spread = [e for e, shards in enumerate(split.endpoint_shards) if len(shards) > 1]
    assert spread and all(split.endpoint_calls[e] * workers > total for e in spread)  # only too hot ones
    assert plan_shards(load, workers, split_hot=True).call_shard.tolist() == split.call_shard.tolist()


def test_a_hot_function_is_dealt_out_evenly_in_time(tmp_path):
    load = read_load(write_load(tmp_path / "load.json", [calls_of([600, 20, 20, 20])] * 4))
    plan = plan_shards(load, 3, split_hot=True)
    assert plan.shard_calls.tolist() == [880, 880, 880]
    hot = load.endpoint_index == 0
    for shard in range(3):
        mine = hot & (plan.call_shard == shard)
        per_unit = np.bincount(load.unit[mine], minlength=4)
        assert per_unit.max() - per_unit.min() <= 1, per_unit  # a steady share of the rate in every unit
        offsets = load.offset_us[mine & (load.unit == 0)]
        assert offsets.min() < 50_000 and offsets.max() > 950_000  # across the unit, not a block of it


def test_replay_shards_partition_the_schedule(tmp_path):
    units = [calls_of([50, 3, 9, 1, 14, 2]), calls_of([40, 8, 2, 6, 1, 9])]
    load = write_load(tmp_path / "load.json", units)
    for split in (False, True):
        shares = [load_schedule(ReplayOptions(load=load, granularity="second", warmup=0, duration=2, shard=(i, 3),
                                              split_hot=split)) for i in (1, 2, 3)]  # fmt: skip
        calls = Counter((int(d), s.schedule.endpoints[e]) for s in shares
                        for d, e in zip(s.schedule.due_us, s.schedule.endpoint_index))  # fmt: skip
        assert calls == Counter((u * 1_000_000 + t, e) for u, unit in enumerate(units) for t, e in unit)
        assert [len(s.schedule) for s in shares] == list(shares[0].shard_calls)
        assert len({s.identity for s in shares}) == 1


def test_loadgen_shards_prints_the_assignment_and_calls_per_shard(shipped_load):
    result = CliRunner().invoke(app, ["shards", str(shipped_load), "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert "max/mean calls per shard 1.92 (max 34,249, mean 17,868); functions kept whole" in result.output
    assert "warning: the busiest of 3 shards has 1.92× the mean calls" in result.output
    assert result.output.count("│ 3/3 ") >= 2  # the function rows of shard 3, and its row of the shard table
    split = CliRunner().invoke(app, ["shards", str(shipped_load), "--workers", "8", "--split-hot"])
    assert split.exit_code == 0, split.output
    assert "max/mean calls per shard 1.00 (max 6,701, mean 6,701); functions split when too hot" in split.output
    assert "1/8 (" in split.output and "warning" not in split.output


def test_loadgen_shards_bad_input_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["shards", str(tmp_path / "none.json"), "--workers", "2"])
    assert result.exit_code == 2 and result.output.strip() == f"Error: {tmp_path / 'none.json'}: file not found"
    assert CliRunner().invoke(app, ["shards", str(tmp_path / "none.json"), "--workers", "0"]).exit_code == 2


def test_loadgen_shards_prints_the_path_as_data(tmp_path, monkeypatch):
    """A '[red]' in the path was read as markup and vanished from the title."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "[red]").mkdir()
    write_load(tmp_path / "[red]" / "l.json", [calls_of([3, 2])])
    result = CliRunner().invoke(app, ["shards", "[red]/l.json", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "Shards of [red]/l.json" in result.output
