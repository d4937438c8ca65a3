"""What the `loadgen` and `invoker` command-line apps share: how a Typer app is made, how a
`OneLineError` from the library (bad input: exit 2) and a usage error (a bad option value, an
unknown option, a missing argument: exit 2) each become one `Error:` line, and how SIGTERM
and SIGHUP stop a command: as an exception, so that what it was writing is cleaned up (a
half-written `load.json.partial` is removed) before it exits with 128 + the signal. A command
that handles them itself (`invoker replay`, `invoker emulate`) sets its own handlers over these.
"""

import functools
import signal
import threading

import typer
from typer.core import TyperCommand, TyperGroup

from loadcore.errors import OneLineError


def one_line_errors(command):
    """Wrap a command so that a `OneLineError` prints `Error: <message>` on stderr and exits
    with its code instead of a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {signum: signal.signal(signum, _stop) for signum in STOP_SIGNALS}
        try:
            return command(*args, **kwargs)
        except OneLineError as error:
            typer.echo(f"Error: {error.message}", err=True)
            raise typer.Exit(error.exit_code) from None
        except Stopped as stop:
            typer.echo(f"stopped by {signal.Signals(stop.signum).name}", err=True)
            raise typer.Exit(128 + stop.signum) from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    return run


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a command as Ctrl-C does (SIGINT is Python's KeyboardInterrupt already)."""


class Stopped(BaseException):
    """A stop signal as an exception; a BaseException, so no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame) -> None:
    raise Stopped(signum)


USAGE_ERROR = typer.BadParameter.__mro__[1]
"""The vendored click's UsageError, which Typer raises for every usage error but exports only
through its subclass BadParameter (`test_usage_errors_are_one_line` fails if that changes)."""


def _one_line_usage(error, info_name: str):
    """`error` as one line. Typer prints a usage error that has a context as the command's
    usage, a hint, then the `Error:` line, and one without a context as that line alone; the
    copy has none and names the help command instead. Typer's NoArgsIsHelpError (no arguments
    at all, answered with the help) stays as it is."""
    if type(error).__name__ == "NoArgsIsHelpError":
        return error
    path = error.ctx.command_path if error.ctx is not None else info_name
    return USAGE_ERROR(f"{error.format_message().rstrip('.')} (see '{path} --help')")


class _OneLineParsing:
    """Parsing a command's arguments (Typer's `make_context`) raises its usage errors as one line."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except USAGE_ERROR as error:
            raise _one_line_usage(error, info_name) from None


class OneLineUsageCommand(_OneLineParsing, TyperCommand):
    """A command whose usage errors are one line (`_one_line_usage`)."""


class OneLineUsageGroup(_OneLineParsing, TyperGroup):
    """A group whose usage errors, an unknown command among them, are one line."""

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except USAGE_ERROR as error:
            raise _one_line_usage(error, ctx.info_name) from None


class App(typer.Typer):
    """A Typer app whose every command reports these errors as one line (`one_line_errors`),
    usage errors included."""

    def command(self, *args, **kwargs):
        register = super().command(*args, cls=kwargs.pop("cls", OneLineUsageCommand), **kwargs)
        return lambda function: register(one_line_errors(function))


def new_app(help: str) -> App:
    """The app of one console script: no completion, no pretty tracebacks, plain help."""
    return App(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
               rich_markup_mode=None, cls=OneLineUsageGroup)

