"""The generate stage as a library call: trace + profiles -> `mapping.csv` and `load.json`.

Steps: read and validate the trace, check the window, map every function to a proxy, deploy
(one replaceable call that fills the mapping's `endpoint` and `status`), write `mapping.csv`,
then stream `load.json` for the functions that have an endpoint.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from loadcore import shipped
from loadcore.loadfile import LoadStats
from loadgen import naming
from loadgen.load import DEFAULT_SEED, write_load
from loadcore.mappingfile import PLANNED, write_mapping
from loadgen.mapping import MappingSummary, build_mapping, summarise
from loadcore.profiles import read_profiles
from loadgen.trace import Trace, read_trace

Deploy = Callable[[pd.DataFrame], pd.DataFrame]
"""Takes the mapping table, returns it with `endpoint` and `status` filled for every row."""


def placeholder_deploy(
    namespace: str = naming.DEFAULT_NAMESPACE, domain: str = naming.DEFAULT_DOMAIN, status: str = PLANNED
) -> Deploy:
    """Deploy nothing on a cluster: give each function the endpoint its Service would have,
    `<service>.<namespace>.<domain>`, with `status` (`planned`; `ready` when the local
    emulator serves these hosts)."""

    def deploy(mapping: pd.DataFrame) -> pd.DataFrame:
        return mapping.assign(
            endpoint=[naming.placeholder_endpoint(service, namespace, domain) for service in mapping["service"]],
            status=status,
        )

    return deploy


@dataclass(frozen=True)
class GenerateOptions:
    """Everything the generate stage takes besides the deploy step (`loadgen generate`'s options)."""

    trace_dir: Path = field(default_factory=shipped.trace_dir)
    profile: Path = field(default_factory=shipped.default_profile)
    output: Path = Path("load.json")
    mapping_out: Path = Path("mapping.csv")
    granularity: str = "minute"
    start: int = 0
    warmup: int = 2
    duration: int = 20
    iat: str = "exponential"
    shift: bool = True
    seed: int = DEFAULT_SEED
    unique: bool = False
    percentile: int = 75
    max_distance: float = 1.0
    strict: bool = False


@dataclass
class GenerateResult:
    options: GenerateOptions
    trace: Trace
    mapping: pd.DataFrame
    summary: MappingSummary
    load: LoadStats
    first_column: str
    last_column: str
    warnings: list[str] = field(default_factory=list)


def generate(options: GenerateOptions, deploy: Deploy, on_unit: Callable[[], None] | None = None) -> GenerateResult:
    """Run the generate stage; raises `InputError` for any bad input before writing anything."""
    o = options
    trace = read_trace(o.trace_dir, o.granularity, o.strict)
    counts = trace.window(o.start, o.warmup, o.duration)
    profiles = read_profiles(o.profile)
    mapping = deploy(build_mapping(trace, profiles, o.percentile, o.unique))
    warnings = [
        f"skipped {missing} functions of {trace.files['invocations'].name} missing from {trace.files[role].name}"
        for role, missing in trace.skipped.items()
    ]
    write_mapping(mapping, o.mapping_out)
    invocable = (mapping["endpoint"] != "").to_numpy()
    if not invocable.all():
        warnings.append(
            f"left {int((~invocable).sum())} functions without an endpoint ({int(counts[~invocable].sum())} invocations)"
            f" out of {Path(o.output).name}; see their status in {Path(o.mapping_out).name}"
        )
    load = write_load(
        o.output, counts[invocable], mapping["endpoint"][invocable].tolist(), trace.unit_us, o.iat, o.shift, o.seed,
        first_column=o.start, on_unit=on_unit,
    )  # fmt: skip
    end = o.start + o.warmup + o.duration - 1
    return GenerateResult(o, trace, mapping, summarise(mapping, o.max_distance), load, trace.units[o.start],
                          trace.units[end], warnings)
