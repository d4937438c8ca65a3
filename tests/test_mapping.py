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
from loadgen.mapping import KIND_PROXY, KIND_SYNTHETIC, Fallback, build_mapping, closest, distances, summarise, unique
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


NEVER = Fallback("never")


def shipped_mapping(percentile=75, one_per_proxy=False, fallback=Fallback()):
    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    return build_mapping(trace, profiles, percentile, one_per_proxy, fallback)


def test_shipped_data_reproduces_the_vswarm_closest_mapping_figures():
    mapping = shipped_mapping(fallback=NEVER)
    summary = summarise(mapping, NEVER)
    assert (summary.functions, summary.proxies) == (250, 81)
    assert (round(summary.proxy.median, 2), round(summary.proxy.p90, 2), round(summary.proxy.max, 2)) == (0.36, 1.54, 4.68)
    assert mapping["proxy"].value_counts().index[0].startswith("fibonacci-go-")
    assert summary.over == int((mapping["distance"] > 1.0).sum()) > 0
    assert list(mapping.columns) == COLUMNS
    assert (mapping["status"] == "planned").all() and (mapping["kind"] == KIND_PROXY).all()
    assert (mapping["protocol"] == "sayhello").all()
    assert str(summary).startswith(
        "mapped 250 functions to 81 distinct proxies; distance median 0.36, p90 1.54, max 4.68; "
        "52 functions over --max-distance 1 (kept)"
    )


def test_unique_on_shipped_data_uses_each_proxy_at_most_twice():
    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    mapping = build_mapping(trace, profiles, 75, one_per_proxy=True, fallback=NEVER)
    assert mapping["proxy"].value_counts().max() == ceil(250 / 191)
    assert mapping["distance"].sum() >= build_mapping(trace, profiles, 75, fallback=NEVER)["distance"].sum()


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
    text = ["HashFunction", "proxy", "service", "endpoint", "status", "kind", "protocol"]
    assert back[text].equals(mapping[text].reset_index(drop=True))
    assert set(back["kind"]) == {"proxy", "synthetic"}
    assert np.allclose(back["distance"], mapping["distance"], rtol=1e-5)


def test_a_mapping_csv_without_kind_and_protocol_is_read_as_all_proxies(tmp_path):
    _mapping(tmp_path).drop(columns=["kind", "protocol"]).to_csv(tmp_path / "mapping.csv", index=False)
    back = read_mapping(tmp_path / "mapping.csv")
    assert back["kind"].tolist() == ["proxy"] * 5 and back["protocol"].tolist() == ["sayhello"] * 5


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns="endpoint"), r"mapping.csv: missing column 'endpoint'"),
        (lambda t: t.assign(service=["Bad_Name"] * 5), r"mapping.csv: line 2, column 'service': 'Bad_Name', expected a DNS-1035 name"),
        (lambda t: t.assign(status=["ready", "done", "ready", "ready", "ready"]), r"line 3, column 'status': 'done', expected planned, ready"),
        (lambda t: t.assign(distance=["x", 1, 1, 1, 1]), r"line 2, column 'distance': 'x' is not a number"),
        (lambda t: t.assign(endpoint=["", "a", "b", "c", "d"]), r"line 2, column 'endpoint': empty, expected the host of a ready service"),
        (lambda t: pd.concat([t, t.iloc[[1]]]), r"line 7: duplicate function"),
        (lambda t: t.assign(kind=["proxy", "fake", "proxy", "proxy", "proxy"], protocol="sayhello"), r"line 3, column 'kind': 'fake', expected one of proxy, synthetic"),
        (lambda t: t.assign(kind="proxy", protocol="faas"), r"line 2, column 'protocol': 'faas', expected 'sayhello' for a proxy function"),
        (lambda t: t.assign(protocol=None), r"line 2, column 'protocol': empty, expected a value"),
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


def test_fallback_gives_the_synthetic_function_to_exactly_the_functions_beyond_max_distance():
    never, mapping = shipped_mapping(fallback=NEVER), shipped_mapping()
    synthetic = (mapping["kind"] == KIND_SYNTHETIC).to_numpy()
    assert synthetic.sum() == 52 and np.array_equal(synthetic, (never["distance"] > 1.0).to_numpy())
    # a synthetic row keeps its closest proxy and distance, and is named like invitro's trace-func
    assert mapping[["proxy", "distance"]].equals(never[["proxy", "distance"]])
    assert mapping["service"][synthetic].str.fullmatch(r"trace-func-[0-9a-f]{10}").all()
    assert (mapping["protocol"][synthetic] == "faas").all() and (mapping["protocol"][~synthetic] == "sayhello").all()
    assert mapping["service"][~synthetic].equals(never["service"][~synthetic])
    summary = summarise(mapping, Fallback())
    assert (summary.proxy.functions, summary.proxies, summary.synthetic.functions, summary.over) == (198, 78, 52, 0)
    assert (round(summary.proxy.max, 2), round(summary.synthetic.median, 2), round(summary.synthetic.max, 2)) == (0.99, 1.53, 4.68)
    assert str(summary) == (
        "mapped 198 functions to 78 distinct proxies; distance median 0.27, p90 0.72, max 0.99; 52 functions to the "
        "synthetic function (closest proxy farther than --max-distance 1: distance median 1.53, p90 3.25, max 4.68); "
        "4 functions with zero duration"
    )


def test_max_distance_moves_the_line_between_the_kinds():
    limits = (0, 0.5, 1, 2, 5)
    counts = [int((shipped_mapping(fallback=Fallback(max_distance=d))["kind"] == KIND_SYNTHETIC).sum()) for d in limits]
    never = shipped_mapping(fallback=NEVER)["distance"]
    assert counts == [int((never > d).sum()) for d in limits] == [250, 104, 52, 19, 0]


def test_invitro_rule_falls_back_when_the_proxy_duration_is_over_40_percent_off():
    mapping = shipped_mapping(50, fallback=Fallback(rule="invitro"))
    synthetic = (mapping["kind"] == KIND_SYNTHETIC).to_numpy()
    trace, proxy = mapping["trace_duration_ms"].to_numpy(), mapping["proxy_duration_ms"].to_numpy()
    assert np.array_equal(synthetic, np.abs(trace - proxy) > 0.4 * trace) and synthetic.sum() == 48
    assert synthetic[trace == 0].all() and (trace == 0).sum() == 11  # nothing is within 40 % of zero
    summary = summarise(mapping, Fallback(rule="invitro"))
    assert (summary.synthetic.functions, summary.over, summary.zero_duration) == (48, 27, 11)


def test_zero_duration_functions_are_synthetic_under_fallback():
    mapping = shipped_mapping()
    zero = (mapping["trace_duration_ms"] == 0).to_numpy()
    assert zero.sum() == 4 and (mapping["kind"][zero] == KIND_SYNTHETIC).all()
    assert (mapping["distance"][zero] > 4).all()


def test_always_makes_every_function_synthetic():
    mapping = shipped_mapping(fallback=Fallback("always"))
    assert (mapping["kind"] == KIND_SYNTHETIC).all() and mapping["service"].str.startswith("trace-func-").all()
    summary = summarise(mapping, Fallback("always"))
    assert summary.proxy is None and summary.synthetic.functions == 250
    assert str(summary).startswith("250 functions to the synthetic function (--synthetic always; closest proxy's distance")


def test_unique_with_fallback_assigns_proxies_only_to_functions_they_fit():
    fallback = Fallback(max_distance=1.0)
    mapping = shipped_mapping(one_per_proxy=True, fallback=fallback)
    proxy = mapping[mapping["kind"] == KIND_PROXY]
    assert (proxy["distance"] <= 1.0).all() and proxy["proxy"].value_counts().max() <= ceil(198 / 191)
    synthetic = mapping["kind"] == KIND_SYNTHETIC
    # every function whose closest proxy is too far, plus those the assignment pushed too far
    assert synthetic.sum() >= 52
    assert synthetic[(shipped_mapping(fallback=NEVER)["distance"] > 1.0).to_numpy()].all()


@pytest.mark.parametrize(
    "fallback, message",
    [
        (dict(mode="sometimes"), "--synthetic 'sometimes': expected one of never, fallback, always"),
        (dict(rule="vswarm"), "--fallback-rule 'vswarm': expected one of distance, invitro"),
        (dict(max_distance=-1.0), "--max-distance -1.0: expected a non-negative number"),
    ],
)
def test_bad_fallback_settings_are_one_line_errors(fallback, message):
    with pytest.raises(InputError, match=message):
        Fallback(**fallback)
