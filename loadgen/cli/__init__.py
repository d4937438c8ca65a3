"""The `loadgen` command: a thin Typer layer over the library, one module per command."""

from loadcore.cli import new_app
from loadcore.heap import keep_freed_memory
from loadgen.cli import deploy, generate, observe, plot, report, run, sample, shards

app = new_app("Trace-driven load generation for serverless clusters (master node).")
app.command("generate")(generate.generate)
app.command("run")(run.run)
app.command("teardown")(deploy.teardown)
app.command("observe")(observe.observe)
app.command("report")(report.report)
app.command("plot")(plot.plot)
app.command("sample")(sample.sample)
app.command("shards")(shards.shards)


def main() -> None:
    keep_freed_memory()
    app()
