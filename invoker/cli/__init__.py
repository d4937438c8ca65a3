"""The `invoker` command: a thin Typer layer over the library, one module per command."""

import typer

from invoker.cli import emulate, replay

app = typer.Typer(
    help="Replay load.json open-loop against gRPC functions (worker nodes), or emulate them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

app.command("replay")(replay.replay)
app.command("emulate")(emulate.emulate)


def main() -> None:
    app()
