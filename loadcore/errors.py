"""The one exception type for bad input, so every command turns it into a one-line error.

Library code raises `InputError` with a message naming the file, the row or field and what
was expected; the command-line apps (`loadcore.cli.new_app`) print it as `Error: <message>`
on one line and exit with code 2, never a traceback. It is a plain exception, so the core
does not depend on the CLI framework.
"""


class InputError(Exception):
    """Bad user input: the message names the file, the row or field, and what was expected."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
