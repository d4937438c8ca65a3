"""The exceptions every command turns into one `Error:` line: bad input, and a broken dependency.

Library code raises them with a message naming the file, the row or field and what was
expected (or the library, its version and what is missing); the command-line apps
(`loadcore.cli.new_app`) print `Error: <message>` on one line and exit with the error's
code, never a traceback. They are plain exceptions, so the core does not depend on the CLI
framework.
"""


class OneLineError(Exception):
    """An error a user fixes from its message alone."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(OneLineError):
    """Bad user input: the message names the file, the row or field, and what was expected."""

    exit_code = 2


class DependencyError(OneLineError):
    """An installed library lacks an internal the toolkit relies on (after an upgrade, say)."""
