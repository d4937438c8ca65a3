"""Input and output files: one place turns "not found", "is a directory", "read-only file
system" and other OS errors into an `InputError` naming the path, keeps two options from
naming the same file, and the append-only output file that never holds a partial write."""

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


def output_error(path: Path, error: OSError) -> InputError:
    """The one-line error for an output file or folder that cannot be written."""
    path = Path(path)
    if isinstance(error, FileNotFoundError):
        return InputError(f"{path}: cannot write, the folder {path.parent} does not exist")
    if isinstance(error, IsADirectoryError):
        return InputError(f"{path}: is a directory, expected a file to write")
    return InputError(f"{path}: cannot write ({error.strerror or error})")


def output_folder(path: Path) -> Path:
    """`path` as a folder to write into, created with its parents if missing."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{path}: is a file, expected a folder to write into") from None
    except OSError as error:
        raise InputError(f"{path}: cannot create the folder ({error.strerror or error})") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"{path}: cannot write into this folder (read-only file system or no permission)")
    return path


def check_output_folder(path: Path) -> None:
    """Refuse, before any work and without creating it, a folder that could not be written into."""
    path = Path(path)
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if not existing.is_dir():
        where = "is a file" if existing == path else f"cannot be created: {existing} is a file"
        raise InputError(f"{path}: {where}, expected a folder to write into")
    if not os.access(existing, os.W_OK):
        raise InputError(f"{path}: cannot write into {existing} (read-only file system or no permission)")


def check_output(path: Path) -> None:
    """Refuse, before any work, an output file that could not be written where it is named."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file to write")
    if not path.parent.is_dir():
        problem = "is not a folder" if path.parent.exists() else "does not exist"
        raise InputError(f"{path}: cannot write, the folder {path.parent} {problem}")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{path}: cannot write (read-only file system or no permission)")


def write_output(path: Path, data: bytes) -> Path:
    """Write a whole output file."""
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        raise output_error(path, error) from None
    return Path(path)


def check_distinct(files: dict[str, Path | None]) -> None:
    """Refuse two options (`--output`, `--vswarm-lat`, an input, ...) that name the same file,
    which writing one would destroy; character devices such as /dev/null may be shared."""
    seen: list[tuple[str, Path]] = []
    for option, path in files.items():
        if path is None:
            continue
        for other, earlier in seen:
            if _same_file(Path(path), earlier):
                raise InputError(f"{option} {path}: the same file as {other} {earlier}; expected a file of its own")
        seen.append((option, Path(path)))


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return not a.is_char_device()
        return False
    except OSError:  # one does not exist yet
        return a.resolve() == b.resolve()


class AppendFile:
    """An output file that only ever holds complete writes, so it is readable at every moment
    (the results CSV, the vSwarm latency file, scaling.csv). A write that fails (a full disk) is
    cut back off the file; after it the file takes no more, `failed` holds the OS's reason and
    `lost` counts the lines (`item`s: rows, latencies) it could not take."""

    def __init__(self, path: Path, item: str = "row", items: str = "rows") -> None:
        self.path, self.item, self.items = path, item, items
        self.failed: str | None = None
        self.lost = 0
        self._size = 0
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise output_error(Path(path), err) from None

    def append(self, text: str, count: int) -> bool:
        """Write all of `text` (`count` lines) or, on failure, cut the file back to before it."""
        if self.failed is not None:
            self.lost += count
            return False
        data, done = text.encode(), 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as err:
            self.failed = err.strerror
            self.lost += count
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            return False
        self._size += done
        return True

    def problem(self) -> str | None:
        """What went wrong, for the user (None while nothing did)."""
        if self.failed is None:
            return None
        return (f"{self.path}: {self.failed}; the file ends at the last {self.item} written in full, "
                f"{self.lost:,} {self.items} could not be written")

    def close(self) -> None:
        os.close(self._fd)
