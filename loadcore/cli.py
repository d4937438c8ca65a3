"""What the `loadgen` and `invoker` command-line apps share: how a Typer app is made, and how
a `OneLineError` from the library (bad input: exit 2) becomes one `Error:` line."""

import functools

import typer

from loadcore.errors import OneLineError


def one_line_errors(command):
    """Wrap a command so that a `OneLineError` prints `Error: <message>` on stderr and exits
    with its code instead of a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OneLineError as error:
            typer.echo(f"Error: {error.message}", err=True)
            raise typer.Exit(error.exit_code) from None

    return run


class App(typer.Typer):
    """A Typer app whose every command reports these errors as one line (`one_line_errors`)."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda function: register(one_line_errors(function))


def new_app(help: str) -> App:
    """The app of one console script: no completion, no pretty tracebacks, plain help."""
    return App(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
               rich_markup_mode=None)

