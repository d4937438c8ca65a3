"""`invoker emulate` as a child process, for `loadgen run --deploy local` and for tests.

The child listens on a free port and writes it to a file before it announces itself; the
parent waits (bounded) for that file, yields the port, and stops the child with SIGTERM.
"""

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def emulator_process(*args: str, timeout: float = 60.0) -> Iterator[int]:
    """Run `invoker emulate ARGS` as a subprocess on a free port and yield the port; SIGTERM it
    on exit, e.g. `with emulator_process("mapping.csv") as port:`. A child that exits or does
    not listen within `timeout` seconds is a `RuntimeError` / `TimeoutError` with its stderr."""
    with tempfile.TemporaryDirectory(prefix="emulate-") as folder:
        port_file, log = Path(folder) / "port", Path(folder) / "stderr"
        command = [sys.executable, "-c", "from invoker.cli import main; main()", "emulate", "--port", "0"]
        with open(log, "wb") as stderr:
            process = subprocess.Popen([*command, *args, "--port-file", str(port_file)], stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + timeout
            while not port_file.exists():
                if process.poll() is not None:
                    raise RuntimeError(f"invoker emulate exited with code {process.returncode}: {log.read_text().strip()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"invoker emulate did not listen within {timeout} s")
                time.sleep(0.02)
            yield int(port_file.read_text())
        finally:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
