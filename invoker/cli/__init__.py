"""The `invoker` command: a thin Typer layer over the library, one module per command."""

from invoker.cli import emulate, replay
from loadcore.cli import new_app

app = new_app("Replay load.json open-loop against gRPC functions (worker nodes), or emulate them.")
app.command("replay")(replay.replay)
app.command("emulate")(emulate.emulate)


def main() -> None:
    app()
