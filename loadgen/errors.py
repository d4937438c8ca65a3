"""The one exception type for bad input, so every command turns it into a one-line error.

It is a `click.ClickException`, so the Typer apps (and Typer's `CliRunner` in tests) print
`Error: <message>` on one line and exit with code 2, never a traceback, without each
command having to catch it.
"""

try:  # recent typer vendors click as typer._click and catches only that class
    from typer._click.exceptions import ClickException
except ImportError:
    from click import ClickException


class InputError(ClickException):
    """Bad user input: the message names the file, the row or field, and what was expected."""

    exit_code = 2
