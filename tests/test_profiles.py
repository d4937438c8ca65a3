"""profile.json and config.json readers."""

import json

import numpy as np
import pytest

from loadcore import shipped
from loadcore.errors import InputError
from loadgen.mapping import build_mapping
from loadcore.profiles import DeployCommands, read_config, read_profiles
from loadgen.traces import read_trace
from tracefiles import trace_rows


def _metric(value: float) -> dict:
    return {f"{p}-percentile": value for p in (0, 1, 5, 25, 50, 75, 95, 99, 100)}


def _profile(name: str, memory_mib: float, duration_ms: float, **overrides) -> dict:
    entry = {
        "name": name,
        "yaml": f"./yamls/{name}.yaml",
        "cpu": _metric(3.0),
        "memory": _metric(memory_mib),
        "duration": _metric(duration_ms),
    }
    return {**entry, **overrides}


def test_shipped_profiles_and_config():
    profiles = read_profiles(shipped.default_profile())
    assert len(profiles) == 191
    assert profiles.index[0] == "aes-go-10-10"
    assert profiles.loc["aes-go-10-10", "yaml"] == "./yamls/aes-go/kn-aes-go-10-10.yaml"
    assert profiles.loc["aes-go-10-10", "memory_p75"] == pytest.approx(24.764468864468867)
    config = read_config(shipped.default_config())
    assert set(config) == set(profiles["yaml"])
    shared_state = [c for c in config.values() if c.pre]
    assert shared_state and all(c.post == () for c in config.values())


def test_an_uncollected_metric_is_nan_and_that_proxy_is_never_chosen(tmp_path):
    document = {
        "near": _profile("near", 100.0, 10.0, memory={}),
        "far": _profile("far", 5000.0, 9000.0),
    }
    (tmp_path / "profile.json").write_text(json.dumps(document))
    profiles = read_profiles(tmp_path / "profile.json")
    assert np.isnan(profiles.loc["near", "memory_p75"])
    trace = read_trace(trace_rows([[1], [2]]).write(tmp_path / "trace"))
    assert build_mapping(trace, profiles, 75)["proxy"].tolist() == ["far", "far"]
    assert build_mapping(trace, profiles, 75, one_per_proxy=True)["proxy"].tolist() == ["far", "far"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", r"profile.json: line 1, column 2: invalid JSON"),
        ("[]", r"profile.json: expected a non-empty JSON object keyed by proxy name"),
        (json.dumps({"a": _profile("b", 1, 1)}), r"proxy 'a': field 'name' is 'b', expected the key 'a'"),
        (json.dumps({"a": _profile("a", 1, 1, yaml=None)}), r"proxy 'a': field 'yaml'"),
        (json.dumps({"a": _profile("a", 1, 1, duration={"75-percentile": "x"})}), r"field duration.75-percentile is 'x', expected a non-negative number"),
        (json.dumps({"a": _profile("a", -1, 1)}), r"field memory.0-percentile is -1, expected a non-negative number"),
    ],
)
def test_bad_profiles_are_errors(tmp_path, text, message):
    (tmp_path / "profile.json").write_text(text)
    with pytest.raises(InputError, match=message):
        read_profiles(tmp_path / "profile.json")


def test_missing_profile_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"profile.json: file not found"):
        read_profiles(tmp_path / "profile.json")


def test_config_defaults_and_skips_entries_without_yaml(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps([{"yaml-location": "./a.yaml"}, {"predeployment-commands": ["x"]}, {"yaml-location": "./b.yaml", "predeployment-commands": ["kubectl apply -f db.yaml"]}])
    )
    assert read_config(tmp_path / "config.json") == {
        "./a.yaml": DeployCommands(),
        "./b.yaml": DeployCommands(pre=("kubectl apply -f db.yaml",)),
    }


@pytest.mark.parametrize(
    "document, message",
    [
        ({"yaml-location": "a"}, r"config.json: expected a JSON array"),
        ([{"yaml-location": "a", "predeployment-commands": "ls"}], r"entry 0: field 'predeployment-commands': expected a list of shell commands"),
        ([{"yaml-location": "a"}, {"yaml-location": "a"}], r"entry 1: yaml-location 'a' appears twice"),
    ],
)
def test_bad_config_is_an_error(tmp_path, document, message):
    (tmp_path / "config.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match=message):
        read_config(tmp_path / "config.json")
