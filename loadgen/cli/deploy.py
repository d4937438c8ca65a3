"""`loadgen teardown` (delete what loadgen deployed, by label, and nothing else), and what
`loadgen generate` prints after its deploy step."""

from pathlib import Path
from typing import Annotated

import typer

from loadcore.console import printable
from loadgen.cli import options
from loadgen.deploy.step import KnativeDeploy


def teardown(
    namespace: Annotated[
        list[str], typer.Option("--namespace", "-n", help="Namespace to clean (repeatable).")
    ] = ["default"],
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Clean every namespace.")] = False,
    run_id: Annotated[str, typer.Option(help="Only objects of this run (label loadgen.dev/run-id).")] = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = None,
) -> None:
    """Delete the Knative Services and dependency objects loadgen created (by label)."""
    from loadgen.deploy import objects  # the Kubernetes client: imported only when used
    from loadgen.deploy.cluster import managed_selector

    deleted = objects.teardown(None if all_namespaces else namespace, run_id, kubeconfig, context, request_timeout)
    for kind, ns, name in deleted:
        typer.echo(f"deleted {kind} {ns}/{name}")
    where = "all namespaces" if all_namespaces else "namespace " + ", ".join(namespace)
    typer.echo(f"deleted {len(deleted)} objects labelled {managed_selector(run_id)} in {where}")


def report_deploy(step, mapping_out: Path, output: Path) -> None:
    """Say what the deploy step did; exit 1 naming each failed Service if any failed."""
    if not isinstance(step, KnativeDeploy):
        return
    knative = step.options
    if knative.dry_run is not None:
        typer.echo(f"dry run: wrote the rendered manifests to {knative.dry_run}; nothing was deployed")
        return
    typer.echo(f"deployed to namespace {knative.namespace} with run id {knative.run_id} "
               f"(remove with `loadgen teardown -n {knative.namespace} --run-id {knative.run_id}`)")
    for failure in step.failures:
        detail = f" ({failure.message})" if failure.message and failure.message not in failure.status else ""
        typer.echo(printable(f"Service {failure.service} ({failure.functions} trace functions) {failure.status}{detail}"),
                   err=True)  # the status and message come from the cluster
    if step.failures:
        functions = sum(f.functions for f in step.failures)
        typer.echo(
            f"Error: {len(step.failures)} Services failed; their {functions} trace functions are in {mapping_out} "
            f"with their status and are NOT in {output}",
            err=True,
        )
        raise typer.Exit(1)
