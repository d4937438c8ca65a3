"""Reading input files: one place turns "not found" and other OS errors into an `InputError`."""

from contextlib import contextmanager
from pathlib import Path

from loadcore.errors import InputError


def input_error(path: Path, error: OSError) -> InputError:
    """The one-line error for an input file that cannot be read."""
    if isinstance(error, FileNotFoundError):
        return InputError(f"{path}: file not found")
    if isinstance(error, IsADirectoryError):
        return InputError(f"{path}: is a directory, expected a file")
    return InputError(f"{path}: cannot read ({error.strerror or error})")


def read_input(path: Path) -> bytes:
    """The whole content of an input file."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise input_error(Path(path), error) from None


@contextmanager
def open_input(path: Path):
    """An input file opened for binary reading; read errors inside the block are `InputError`s too."""
    try:
        with open(path, "rb") as file:
            yield file
    except OSError as error:
        raise input_error(Path(path), error) from None
