"""Proxy mapping: distance, closest and unique modes against brute force, names, mapping.csv."""

import itertools
from math import ceil, log, sqrt

import numpy as np
import pandas as pd
import pytest

from loadcore import shipped
from loadgen import naming
from loadcore.errors import InputError
from loadcore.mappingfile import COLUMNS, read_mapping, write_mapping
from loadcore.names import is_service_name
from loadgen.mapping import build_mapping, closest, distances, summarise, unique
from loadcore.profiles import read_profiles
from loadgen.traces import read_trace


def test_distance_is_euclidean_in_log_space_with_trace_zeros_clamped():
    cost = distances([100.0, 0.0], [10.0, 0.0], [50.0, np.nan], [20.0, 5.0])
    assert cost[0, 0] == pytest.approx(sqrt(log(2) ** 2 + log(2) ** 2))
    assert cost[1, 0] == pytest.approx(sqrt((log(0.01) - log(50)) ** 2 + (log(0.01) - log(20)) ** 2))
    assert np.isinf(cost[:, 1]).all()


def test_zero_proxy_values_make_the_proxy_unusable():
    assert np.isinf(distances([1.0], [1.0], [0.0], [1.0])).all()


def test_closest_picks_the_first_minimum_in_profile_order():
    cost = np.array([[3.0, 1.0, 1.0], [0.5, 2.0, 0.5], [np.inf, 4.0, 5.0]])
    assert closest(cost).tolist() == [1, 0, 1]


def _brute_force_total(cost: np.ndarray, capacity: int) -> float:
    """Smallest total over every assignment that uses each column at most `capacity` times."""
    n, m = cost.shape
    best = np.inf
    for choice in itertools.product(range(m), repeat=n):
        if max(np.bincount(choice, minlength=m)) <= capacity:
            best = min(best, cost[np.arange(n), list(choice)].sum())
    return best


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n, m", [(3, 5), (4, 4), (5, 2), (6, 3), (7, 3)])
def test_unique_is_optimal_against_brute_force_with_balanced_capacity(seed, n, m):
    cost = np.random.default_rng(seed).random((n, m)) * 5
    chosen = unique(cost)
    capacity = ceil(n / m)
    assert np.bincount(chosen, minlength=m).max() <= capacity
    if n <= m:
        assert len(set(chosen)) == n
    assert cost[np.arange(n), chosen].sum() == pytest.approx(_brute_force_total(cost, capacity))


def test_unique_never_uses_unusable_proxies_and_balances_over_the_usable_ones():
    cost = np.array([[1.0, np.inf, 2.0], [1.0, np.inf, 3.0], [1.0, np.inf, 9.0], [1.0, np.inf, 9.0]])
    chosen = unique(cost)
    assert 1 not in chosen
    assert np.bincount(chosen, minlength=3).tolist() == [2, 0, 2]


def test_shipped_data_reproduces_the_vswarm_closest_mapping_figures():
    mapping = build_mapping(read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile()), 75)
    summary = summarise(mapping, max_distance=1.0)
    assert (summary.functions, summary.proxies) == (250, 81)
    assert (round(summary.median, 2), round(summary.p90, 2), round(summary.max, 2)) == (0.36, 1.54, 4.68)
    assert mapping["proxy"].value_counts().index[0].startswith("fibonacci-go-")
    assert summary.over == int((mapping["distance"] > 1.0).sum()) > 0
    assert list(mapping.columns) == COLUMNS
    assert (mapping["status"] == "planned").all()


def test_unique_on_shipped_data_uses_each_proxy_at_most_twice():
    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    mapping = build_mapping(trace, profiles, 75, one_per_proxy=True)
    assert mapping["proxy"].value_counts().max() == ceil(250 / 191)
    assert mapping["distance"].sum() >= build_mapping(trace, profiles, 75)["distance"].sum()


def test_service_names_are_stable_valid_and_distinct_per_function():
    name = naming.service_name("fibonacci-go-1500000-1515000", "owner", "app", "function")
    assert name == naming.service_name("fibonacci-go-1500000-1515000", "owner", "app", "function")
    assert name.startswith("fibonacci-go-1500000-1515000-") and is_service_name(name)
    assert name != naming.service_name("fibonacci-go-1500000-1515000", "owner", "app2", "function")
    for proxy in ("Video_Analytics.Standalone", "9lives", "x" * 80, "---", "a--b__c"):
        assert is_service_name(naming.service_name(proxy, "o", "a", "f")), proxy


def test_service_name_is_the_same_on_every_run():
    assert naming.service_name("aes-go-10-10", "owner", "app", "function") == "aes-go-10-10-46281c1753"


def _mapping(tmp_path) -> pd.DataFrame:
    trace_dir = shipped.trace_dir()
    mapping = build_mapping(read_trace(trace_dir), read_profiles(shipped.default_profile()), 75)
    return mapping.head(5).assign(endpoint=lambda t: t["service"] + ".default.example.com", status="ready")


def test_mapping_csv_round_trips(tmp_path):
    mapping = _mapping(tmp_path)
    write_mapping(mapping, tmp_path / "mapping.csv")
    header = (tmp_path / "mapping.csv").read_text().splitlines()[0]
    assert header == ",".join(COLUMNS)
    back = read_mapping(tmp_path / "mapping.csv")
    assert back[["HashFunction", "proxy", "service", "endpoint", "status"]].equals(
        mapping[["HashFunction", "proxy", "service", "endpoint", "status"]].reset_index(drop=True)
    )
    assert np.allclose(back["distance"], mapping["distance"], rtol=1e-5)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns="endpoint"), r"mapping.csv: missing column 'endpoint'"),
        (lambda t: t.assign(service=["Bad_Name"] * 5), r"mapping.csv: line 2, column 'service': 'Bad_Name', expected a DNS-1035 name"),
        (lambda t: t.assign(status=["ready", "done", "ready", "ready", "ready"]), r"line 3, column 'status': 'done', expected planned, ready"),
        (lambda t: t.assign(distance=["x", 1, 1, 1, 1]), r"line 2, column 'distance': 'x' is not a number"),
        (lambda t: t.assign(endpoint=["", "a", "b", "c", "d"]), r"line 2, column 'endpoint': empty, expected the host of a ready service"),
        (lambda t: pd.concat([t, t.iloc[[1]]]), r"line 7: duplicate function"),
    ],
)
def test_read_mapping_rejects_bad_rows(tmp_path, edit, message):
    edit(_mapping(tmp_path)).to_csv(tmp_path / "mapping.csv", index=False)
    with pytest.raises(InputError, match=message):
        read_mapping(tmp_path / "mapping.csv")


def test_read_mapping_accepts_failed_rows_without_endpoint(tmp_path):
    mapping = _mapping(tmp_path).assign(endpoint=["", "a", "b", "c", "d"], status=["failed: image pull", *["ready"] * 4])
    write_mapping(mapping, tmp_path / "mapping.csv")
    assert read_mapping(tmp_path / "mapping.csv")["endpoint"].tolist()[0] == ""
