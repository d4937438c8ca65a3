"""Read the vSwarm proxy profiles (`profile.json`) and deployment recipes (`config.json`).

`profile.json` is a JSON object keyed by proxy name (= the Knative Service name in its YAML):

    {"<name>": {"name": "<name>", "yaml": "./yamls/<family>/kn-<name>.yaml",
                "cpu": {"0-percentile": float, "1-", "5-", "25-", "50-", "75-", "95-", "99-",
                        "100-percentile": float},
                "memory": {same keys}, "duration": {same keys}}, ...}

Units: cpu millicores, memory **MiB** (the trace's memory is MB; see `loadgen.mapping`),
duration ms.  A metric that could not be collected is `{}`; its values become NaN, and a
proxy without memory or duration at the mapping percentile is never chosen.  Caveat from
the profiler: the "percentiles" are percentiles of running means of 5-20 sorted samples
(p100 is the mean), memory is the whole pod and duration is timed inside the relay.

`config.json` is a JSON array of `{"yaml-location": str, "predeployment-commands": [str],
"postdeployment-commands": [str]}`; the lists default to `[]`, entries without
`yaml-location` are skipped, and an entry belongs to the proxies whose `yaml` is the same
string.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore.errors import InputError
from loadcore.files import read_input

PERCENTILES = (0, 1, 5, 25, 50, 75, 95, 99, 100)
METRICS = ("memory", "duration", "cpu")


def column(metric: str, percentile: int) -> str:
    """Name of a profile table column, e.g. `memory_p75`."""
    return f"{metric}_p{percentile}"


@dataclass(frozen=True)
class DeployCommands:
    """Shell commands run once before / after deploying the proxies that use one YAML."""

    pre: tuple[str, ...] = ()
    post: tuple[str, ...] = ()


def read_profiles(path: Path) -> pd.DataFrame:
    """The proxies in file order, indexed by name (`proxy`), with `yaml` and one float column
    per metric and percentile (`memory_p0` ... `cpu_p100`, NaN when not collected)."""
    path = Path(path)
    document = _load_json(path)
    if not isinstance(document, dict) or not document:
        raise InputError(f"{path}: expected a non-empty JSON object keyed by proxy name")
    rows = []
    for name, entry in document.items():
        where = f"{path}: proxy {name!r}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object with name, yaml, memory, duration, cpu")
        if entry.get("name", name) != name:
            raise InputError(f"{where}: field 'name' is {entry['name']!r}, expected the key {name!r}")
        yaml = entry.get("yaml")
        if not isinstance(yaml, str) or not yaml:
            raise InputError(f"{where}: field 'yaml': expected the path of the proxy's Knative YAML")
        row = {"proxy": name, "yaml": yaml}
        for metric in METRICS:
            row.update(_metric(where, metric, entry.get(metric, {})))
        rows.append(row)
    return pd.DataFrame(rows).set_index("proxy")


def _metric(where: str, metric: str, values) -> dict[str, float]:
    if not isinstance(values, dict):
        raise InputError(f"{where}: field {metric!r}: expected an object of percentiles or {{}}")
    result = {}
    for percentile in PERCENTILES:
        value = values.get(f"{percentile}-percentile")
        if value is None:
            result[column(metric, percentile)] = np.nan
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise InputError(
                f"{where}: field {metric}.{percentile}-percentile is {value!r}, expected a non-negative number"
            )
        result[column(metric, percentile)] = float(value)
    return result


def read_config(path: Path) -> dict[str, DeployCommands]:
    """Deployment commands keyed by `yaml-location` (compare with the profile's `yaml`)."""
    path = Path(path)
    document = _load_json(path)
    if not isinstance(document, list):
        raise InputError(f"{path}: expected a JSON array of {{yaml-location, predeployment-commands, ...}} objects")
    config = {}
    for index, entry in enumerate(document):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object with yaml-location")
        location = entry.get("yaml-location")
        if location is None:
            continue
        if not isinstance(location, str) or not location:
            raise InputError(f"{where}: field 'yaml-location': expected a non-empty string")
        if location in config:
            raise InputError(f"{where}: yaml-location {location!r} appears twice, expected one entry per YAML")
        commands = {}
        for key in ("predeployment-commands", "postdeployment-commands"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise InputError(f"{where}: field {key!r}: expected a list of shell commands")
            commands[key] = tuple(value)
        config[location] = DeployCommands(commands["predeployment-commands"], commands["postdeployment-commands"])
    return config


def _load_json(path: Path):
    try:
        text = read_input(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: byte {e.start}: undecodable, expected UTF-8 JSON") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: line {e.lineno}, column {e.colno}: invalid JSON ({e.msg})") from None
