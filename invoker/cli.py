"""The `invoker` command (placeholder: owned by the helper building it)."""

import typer

app = typer.Typer(
    help="Replay load.json open-loop against gRPC functions (worker nodes).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def replay() -> None:
    """Replay load.json."""
    raise NotImplementedError


def main() -> None:
    app()
