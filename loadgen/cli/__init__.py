"""The `loadgen` command: a thin Typer layer over the library, one module per command."""

import typer

from loadgen.cli import deploy, generate, plot, report, run

app = typer.Typer(
    help="Trace-driven load generation for serverless clusters (master node).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

app.command("generate")(generate.generate)
app.command("run")(run.run)
app.command("teardown")(deploy.teardown)
app.command("report")(report.report)
app.command("plot")(plot.plot)


def main() -> None:
    app()
