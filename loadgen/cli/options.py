"""Options that several `loadgen` commands take, declared once so they read alike everywhere,
and the choice types of options, built from the library's own lists of values."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from loadcore.units import Granularity
from loadgen.deploy.step import SERVING_TARGETS, TARGETS
from loadgen.figures import FORMATS
from loadgen.load import IAT_MODES
from loadgen.mapping import FALLBACK_RULES, PERCENTILES, SYNTHETIC_MODES
from loadgen.traces import FORMATS as TRACE_FORMATS
from loadgen.traces import TraceChoices
from loadgen.traces.folder import DAYS, MEMORY_DAYS


def choices(name: str, values, names=lambda value: value) -> type[Enum]:
    """An option's choice type: one member per library value."""
    return Enum(name, {names(str(value)): str(value) for value in values}, type=str)


FigureFormat = choices("FigureFormat", FORMATS)
Percentile = choices("Percentile", PERCENTILES, names=lambda value: f"p{value}")
Iat = choices("Iat", IAT_MODES)
DeployTarget = choices("DeployTarget", TARGETS)
RunTarget = choices("RunTarget", SERVING_TARGETS)
Synthetic = choices("Synthetic", SYNTHETIC_MODES)
FallbackRule = choices("FallbackRule", FALLBACK_RULES)
DEFAULT_FIGURE_FORMAT = FigureFormat(FORMATS[0])

FigureFormatOption = Annotated[FigureFormat, typer.Option("--format", help="Figure file format.")]

TraceDir = Annotated[
    Path, typer.Option("--trace", help="Trace folder (invocations, durations, memory CSVs) or a 2021 per-invocation CSV.")
]
TraceFormat = choices("TraceFormat", TRACE_FORMATS)
Format = Annotated[
    TraceFormat, typer.Option("--format", help="Trace layout [default: detected from the file names and headers].")
]
TraceFormatOfPlot = Annotated[
    TraceFormat, typer.Option("--trace-format", help="Trace layout [default: detected from the file names and headers].")
]
Day = Annotated[int, typer.Option("--day", min=1, max=DAYS, help="Day of the official Azure 2019 download (dNN files).")]
MemoryDay = Annotated[
    int,
    typer.Option("--memory-day", min=1, max=MEMORY_DAYS, help="Take the apps' memory from this day (the download has memory for days 1-12)."),
]
MemoryMb = Annotated[
    float, typer.Option("--memory-mb", min=0, help="Memory of every function of a trace without memory (Azure 2021) [default: 200].")
]
RateScale = Annotated[
    float,
    typer.Option("--rate-scale", help="Multiply every count by this factor > 0 (seeded stochastic rounding): a trace's shape on a smaller cluster."),
]


def trace_choices(trace_format: "TraceFormat | None", day: int | None, memory_day: int | None, memory_mb: float | None) -> TraceChoices:
    """The trace options of a command, for the library."""
    return TraceChoices(trace_format.value if trace_format else None, day, memory_day, memory_mb)


ProfileFile = Annotated[Path, typer.Option("--profile", help="Proxy profiles (vSwarm profile.json).")]
ConfigFile = Annotated[Path, typer.Option("--config", help="Proxy deployment recipes (vSwarm config.json).")]
UnitOfCounts = Annotated[Granularity, typer.Option("--granularity", help="What one count column covers.")]
StartColumn = Annotated[int, typer.Option("--start", min=0, help="First count column to use (0 = the first).")]
MeasuredUnits = Annotated[int, typer.Option("--duration", min=1, help="Measured units after the warm-up.")]
Namespace = Annotated[str, typer.Option("--namespace", help="Namespace of the services.")]
Kubeconfig = Annotated[
    str, typer.Option("--kubeconfig", help="Kubeconfig of the cluster [default: $KUBECONFIG, ~/.kube/config, in-cluster].")
]
Context = Annotated[str, typer.Option("--context", help="Kubeconfig context [default: the current one].")]
YamlDir = Annotated[
    Path, typer.Option("--yaml-dir", help="knative: folder the profile's yaml paths are relative to [default: shipped].")
]
ReadyTimeout = Annotated[
    float, typer.Option("--ready-timeout", min=0, help="knative: seconds to wait for all Services [default: 600].")
]
OptionalGranularity = Annotated[
    Granularity, typer.Option("--granularity", help="Unit length [default: as the results' scheduled times show].")
]
SyntheticMode = Annotated[
    Synthetic,
    typer.Option(
        "--synthetic",
        help="Give functions invitro's synthetic function (trace-func-go): never, where no proxy fits (fallback), or always.",
    ),
]
SyntheticImage = Annotated[
    str,
    typer.Option(
        "--synthetic-image", help="knative: image of the synthetic functions [default: the shipped manifest's, invitro's trace function]."
    ),
]
MaxRuntime = Annotated[
    int, typer.Option("--max-runtime-ms", min=1, help="Longest runtime a synthetic call asks for (invitro: 60 s).")
]
FallbackRuleOption = Annotated[
    FallbackRule,
    typer.Option("--fallback-rule", help="fallback: distance (over --max-distance) or invitro (proxy duration over 40 % off)."),
]
MaxDistance = Annotated[
    float, typer.Option("--max-distance", min=0, help="fallback: synthetic beyond this distance; never: report those.")
]
RequestTimeout = Annotated[
    float, typer.Option("--request-timeout", help="Seconds each Kubernetes API request may take [default: 60].")
]
