"""`mapping.csv`: which proxy and which endpoint every trace function got.

Written by `loadgen generate` (`write_mapping`), read and validated by `read_mapping` for
`loadgen plot`, `loadgen report` and `invoker emulate`. One row per trace function in trace
order, comma-separated, UTF-8, with the columns of `COLUMNS` in that order (readers find
them by name; extra columns are allowed):

| column | meaning |
|---|---|
| HashOwner, HashApp, HashFunction, Trigger | the trace function (Trigger empty when the trace has none) |
| trace_memory_mb, trace_duration_ms | its memory (MB) and duration (ms) at the mapping percentile |
| proxy | the chosen proxy (a key of profile.json); for a synthetic function, the closest proxy, which was not used |
| proxy_memory_mib, proxy_duration_ms | the proxy's memory (MiB) and duration (ms) at the same percentile |
| distance | the mapping distance between the two (`loadgen.mapping`) |
| service | the function's own Knative Service name, `<proxy>-<id>`, or `trace-func-<id>` for a synthetic function (`loadgen.naming`) |
| endpoint | host to invoke, `<service>.<namespace>.<domain>`, no scheme or port (empty if not deployed); with `--share-proxies` the functions of one proxy share it |
| status | `planned` (not deployed), `ready`, or `failed: <reason>` |
| kind | `proxy` (a vSwarm proxy) or `synthetic` (invitro's synthetic function, `loadgen.synthetic`) |
| protocol | what its endpoint speaks: `sayhello` for a proxy, `faas` for a synthetic function (`PROTOCOLS`) |

Files written before `kind` and `protocol` existed are read as all proxies.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from loadcore import names
from loadcore.csvfile import line_of, number_column, read_csv, require_columns, text_column
from loadcore.errors import InputError
from loadcore.files import write_output
from loadcore.loadfile import DEFAULT_PROTOCOL, SYNTHETIC_PROTOCOL

COLUMNS = [
    "HashOwner", "HashApp", "HashFunction", "Trigger",
    "trace_memory_mb", "trace_duration_ms",
    "proxy", "proxy_memory_mib", "proxy_duration_ms", "distance",
    "service", "endpoint", "status", "kind", "protocol",
]  # fmt: skip
KEY = ["HashOwner", "HashApp", "HashFunction"]
TEXT_COLUMNS = ("HashOwner", "HashApp", "HashFunction", "Trigger", "proxy", "service", "endpoint", "status", "kind", "protocol")
NUMBER_COLUMNS = ("trace_memory_mb", "trace_duration_ms", "proxy_memory_mib", "proxy_duration_ms", "distance")
PLANNED = "planned"
READY = "ready"
FAILED = "failed"
KIND_PROXY, KIND_SYNTHETIC = "proxy", "synthetic"
PROTOCOLS = {KIND_PROXY: DEFAULT_PROTOCOL, KIND_SYNTHETIC: SYNTHETIC_PROTOCOL}
"""The protocol each kind of function speaks (names of `invoker.protocols.PROTOCOLS`)."""


def is_failed(status: str) -> bool:
    """True for a `failed: <reason>` status."""
    return status.startswith(f"{FAILED}:")


def write_mapping(mapping: pd.DataFrame, path: Path) -> None:
    """Write `mapping.csv` (columns `COLUMNS` first, then any extra ones)."""
    extra = [c for c in mapping.columns if c not in COLUMNS]
    write_output(path, mapping[COLUMNS + extra].to_csv(index=False, float_format="%.6g", lineterminator="\n").encode())


def read_mapping(path: Path) -> pd.DataFrame:
    """Read and validate `mapping.csv`; every problem is an `InputError` naming line and column."""
    path = Path(path)
    table = read_csv(path, NUMBER_COLUMNS, text_columns=TEXT_COLUMNS)
    require_columns(path, table, [c for c in COLUMNS if c not in ("kind", "protocol")])
    if "kind" not in table.columns:
        table["kind"] = KIND_PROXY
    if "protocol" not in table.columns:
        table["protocol"] = table["kind"].map(PROTOCOLS)
    for name in ("HashOwner", "HashApp", "HashFunction", "proxy", "service", "status", "kind", "protocol"):
        table[name] = text_column(path, table, name)
    for name in ("Trigger", "endpoint"):  # no trigger in invitro's 2022 samples and the 2021 trace; not deployed yet
        table[name] = table[name].fillna("").astype(str).str.strip()
    for name in NUMBER_COLUMNS:
        table[name] = number_column(path, table, name)
    for row, (kind, protocol) in enumerate(zip(table["kind"], table["protocol"])):
        if kind not in PROTOCOLS:
            raise InputError(f"{path}: line {line_of(row)}, column 'kind': {kind!r}, expected one of {', '.join(PROTOCOLS)}")
        if protocol != PROTOCOLS[kind]:
            raise InputError(
                f"{path}: line {line_of(row)}, column 'protocol': {protocol!r}, expected {PROTOCOLS[kind]!r} for a {kind} function"
            )
    for row, (service, status, endpoint) in enumerate(zip(table["service"], table["status"], table["endpoint"])):
        if not names.is_service_name(service):
            raise InputError(
                f"{path}: line {line_of(row)}, column 'service': {service!r}, expected a DNS-1035 name "
                f"of at most {names.MAX_SERVICE_NAME} characters"
            )
        if status not in (PLANNED, READY) and not is_failed(status):
            raise InputError(
                f"{path}: line {line_of(row)}, column 'status': {status!r}, expected planned, ready or 'failed: <reason>'"
            )
        if status == READY and not endpoint:
            raise InputError(f"{path}: line {line_of(row)}, column 'endpoint': empty, expected the host of a ready service")
    for key, what in ((KEY, "function"), (["service"], "service")):
        duplicated = table.duplicated(key).to_numpy()
        if duplicated.any():
            row = int(np.flatnonzero(duplicated)[0])
            raise InputError(f"{path}: line {line_of(row)}: duplicate {what} {'/'.join(table.iloc[row][key])}, expected one row each")
    hosts = table["endpoint"].str.lower().where(table["endpoint"] != "")
    mixed = (hosts.notna() & (table["proxy"] != table.groupby(hosts)["proxy"].transform("first"))).to_numpy()
    if mixed.any():
        row = int(np.flatnonzero(mixed)[0])
        raise InputError(f"{path}: line {line_of(row)}, column 'endpoint': {table['endpoint'].iloc[row]!r} is shared by "
                         f"functions of different proxies, expected one proxy per endpoint (as --share-proxies makes)")
    return table
