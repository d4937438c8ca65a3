"""Reading input files: one place turns "not found" and other OS errors into an `InputError`;
and the append-only output file that never holds a partial write."""

import os
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


class AppendFile:
    """An output file that only ever holds complete writes, so it is readable at every moment
    (the results CSV, scaling.csv). A write that fails (a full disk) is cut back off the file
    and leaves `failed` set (the OS's reason); the caller stops writing there."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.failed: str | None = None
        self._size = 0
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise InputError(f"{path}: cannot write {what} ({err.strerror})") from None

    def append(self, data: bytes) -> bool:
        """Write all of `data` or, on failure, cut the file back to before it and return False."""
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as err:
            self.failed = err.strerror
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            return False
        self._size += done
        return True

    def close(self) -> None:
        os.close(self._fd)
