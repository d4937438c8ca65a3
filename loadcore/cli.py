"""What the `loadgen` and `invoker` command-line apps share: how a Typer app is made, how a
`OneLineError` from the library (bad input: exit 2) becomes one `Error:` line, and how SIGTERM
and SIGHUP stop a command: as an exception, so that what it was writing is cleaned up (a
half-written `load.json.partial` is removed) before it exits with 128 + the signal. A command
that handles them itself (`invoker replay`, `invoker emulate`) sets its own handlers over these.
"""

import functools
import signal
import threading

import typer

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


class App(typer.Typer):
    """A Typer app whose every command reports these errors as one line (`one_line_errors`)."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda function: register(one_line_errors(function))


def new_app(help: str) -> App:
    """The app of one console script: no completion, no pretty tracebacks, plain help."""
    return App(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
               rich_markup_mode=None)

