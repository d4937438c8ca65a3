"""Options that several `loadgen` commands take, declared once so they read alike everywhere."""

from pathlib import Path
from typing import Annotated

import typer

from loadcore.units import Granularity

TraceDir = Annotated[Path, typer.Option("--trace", help="Trace folder (invocations, durations, memory CSVs).")]
ProfileFile = Annotated[Path, typer.Option("--profile", help="Proxy profiles (vSwarm profile.json).")]
ConfigFile = Annotated[Path, typer.Option("--config", help="Proxy deployment recipes (vSwarm config.json).")]
UnitOfCounts = Annotated[Granularity, typer.Option("--granularity", help="What one count column covers.")]
StartColumn = Annotated[int, typer.Option("--start", min=0, help="First count column to use (0 = the first).")]
MeasuredUnits = Annotated[int, typer.Option("--duration", min=1, help="Measured units after the warm-up.")]
Namespace = Annotated[str, typer.Option("--namespace", help="Namespace of the services.")]
Kubeconfig = Annotated[
    str, typer.Option("--kubeconfig", help="knative: kubeconfig [default: $KUBECONFIG, ~/.kube/config, in-cluster].")
]
Context = Annotated[str, typer.Option("--context", help="knative: kubeconfig context [default: current].")]
YamlDir = Annotated[
    Path, typer.Option("--yaml-dir", help="knative: folder the profile's yaml paths are relative to [default: shipped].")
]
ReadyTimeout = Annotated[
    float, typer.Option("--ready-timeout", min=0, help="knative: seconds to wait for all Services [default: 600].")
]
