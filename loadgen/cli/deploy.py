"""`loadgen teardown`: delete what loadgen deployed, by label, and nothing else."""

from typing import Annotated

import typer

from loadgen.deploy import objects
from loadgen.deploy.cluster import connect, managed_selector


def teardown(
    namespace: Annotated[
        list[str], typer.Option("--namespace", "-n", help="Namespace to clean (repeatable).")
    ] = ["default"],
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Clean every namespace.")] = False,
    run_id: Annotated[str, typer.Option(help="Only objects of this run (label loadgen.dev/run-id).")] = None,
    kubeconfig: Annotated[str, typer.Option(help="Kubeconfig [default: $KUBECONFIG, ~/.kube/config, in-cluster].")] = None,
    context: Annotated[str, typer.Option(help="Kubeconfig context [default: the current one].")] = None,
) -> None:
    """Delete the Knative Services and dependency objects loadgen created (by label)."""
    with connect(kubeconfig, context) as api:
        deleted = objects.delete_managed(api, None if all_namespaces else namespace, run_id)
    for kind, ns, name in deleted:
        typer.echo(f"deleted {kind} {ns}/{name}")
    where = "all namespaces" if all_namespaces else "namespace " + ", ".join(namespace)
    typer.echo(f"deleted {len(deleted)} objects labelled {managed_selector(run_id)} in {where}")
