"""The generate stage as a library call: trace + profiles -> `mapping.csv` and `load.json`.

Steps: read and validate the trace, check the window, map every function to a proxy, deploy
(one replaceable call that fills the mapping's `endpoint` and `status`), write `mapping.csv`,
then stream `load.json` for the functions that have an endpoint.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loadcore import shipped
from loadcore.errors import InputError
from loadcore.files import check_distinct, check_output
from loadcore.loadfile import LoadStats
from loadgen import naming
from loadgen.load import DEFAULT_SEED, TRACE_IAT, scale_calls, scale_counts, write_load, write_trace_calls
from loadcore.mappingfile import KIND_SYNTHETIC, PLANNED, write_mapping
from loadgen.mapping import Fallback, MappingSummary, build_mapping, summarise
from loadgen.synthetic import DEFAULT_MAX_RUNTIME_MS, CallSpecs, SyntheticCalls
from loadcore.profiles import read_profiles
from loadgen.traces import Trace, TraceChoices, Window

Deploy = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], pd.DataFrame]
"""Takes the mapping table, the trace's function table (the same rows, with every percentile:
a synthetic function's Service is sized from them) and the proxies of profile.json (read once:
`--profile` may be a pipe), returns the mapping with `endpoint` and `status` filled for every row."""


def placeholder_deploy(
    namespace: str = naming.DEFAULT_NAMESPACE, domain: str = naming.DEFAULT_DOMAIN, status: str = PLANNED
) -> Deploy:
    """Deploy nothing on a cluster: give each function the endpoint its Service would have,
    `<service>.<namespace>.<domain>`, with `status` (`planned`; `ready` when the local
    emulator serves these hosts)."""

    def deploy(mapping: pd.DataFrame, functions: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
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
    iat: str | None = None
    """None: `trace` for a per-invocation trace, `exponential` for a trace of counts."""
    shift: bool = True
    seed: int = DEFAULT_SEED
    unique: bool = False
    percentile: int = 75
    fallback: Fallback = Fallback()
    max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS
    strict: bool = False
    trace_choices: TraceChoices = TraceChoices()
    rate_scale: float = 1.0


@dataclass
class GenerateResult:
    options: GenerateOptions
    trace: Trace
    mapping: pd.DataFrame
    summary: MappingSummary
    load: LoadStats
    first_column: str
    last_column: str
    iat: str
    trace_calls: int
    """Calls of the invocable functions in the window before `rate_scale`."""
    warnings: list[str] = field(default_factory=list)


def generate(options: GenerateOptions, deploy: Deploy, on_unit: Callable[[], None] | None = None) -> GenerateResult:
    """Run the generate stage; raises `InputError` for any bad input before writing anything."""
    o = options
    check_distinct({"--profile": o.profile, "--mapping-out": o.mapping_out, "--output": o.output})
    check_output(o.mapping_out)
    check_output(o.output)
    if not o.rate_scale > 0 or o.rate_scale == float("inf"):
        raise InputError(f"--rate-scale {o.rate_scale:g}: expected a positive factor")
    window = Window.of_run(o.start, o.warmup, o.duration)
    trace = o.trace_choices.read(o.trace_dir, o.granularity, o.strict, window)
    iat = o.iat or (TRACE_IAT if trace.calls is not None else "exponential")
    if iat == TRACE_IAT and trace.calls is None:
        raise InputError(
            f"--iat {TRACE_IAT}: {trace.source} ({trace.layout}) has only counts per unit; it needs a per-invocation "
            "trace (azure2021), or another --iat"
        )
    counts = trace.counts_of(window)
    specs = CallSpecs.from_table(trace.functions, o.max_runtime_ms)
    profiles = read_profiles(o.profile)
    mapping = deploy(build_mapping(trace, profiles, o.percentile, o.unique, o.fallback), trace.functions, profiles)
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
    trace_calls = int(counts[invocable].sum())
    scaled = counts if o.rate_scale == 1 else scale_counts(counts, o.rate_scale, o.seed, o.start)
    trace.check_totals(scaled, o.start, f" after --rate-scale {o.rate_scale:g}")
    endpoints = mapping["endpoint"][invocable].tolist()
    synthetic = SyntheticCalls(specs.select(invocable), (mapping["kind"] == KIND_SYNTHETIC).to_numpy()[invocable])
    if iat == TRACE_IAT:
        unit, offset, function = trace.calls_of(window)
        duration = trace.durations_of(window)
        if o.rate_scale != 1:
            kept = scale_calls(unit, function, counts, scaled, o.seed, o.start)
            unit, offset, function, duration = unit[kept], offset[kept], function[kept], duration[kept]
        endpoint_of = np.cumsum(invocable) - 1
        called = invocable[function]
        load = write_trace_calls(o.output, unit[called], offset[called], endpoint_of[function[called]], endpoints,
                                 window.length, on_unit, synthetic, o.seed, o.start, duration[called])  # fmt: skip
    else:
        load = write_load(
            o.output, scaled[invocable], endpoints, trace.unit_us, iat, o.shift, o.seed, first_column=o.start, on_unit=on_unit,
            synthetic=synthetic,
        )  # fmt: skip
    end = o.start + o.warmup + o.duration - 1
    return GenerateResult(o, trace, mapping, summarise(mapping, o.fallback), load, trace.units[o.start],
                          trace.units[end], iat, trace_calls, warnings)  # fmt: skip
