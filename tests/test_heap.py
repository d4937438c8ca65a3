"""The heap keeps the blocks the load.json writer frees, so later units touch no fresh pages."""

import subprocess
import sys

import pytest

PROGRAM = """
import resource, sys
from loadcore.heap import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
blocks = [b"x" * (1 << 20) for _ in range(8)]  # what one busy unit holds at once
del blocks
before = faults()
for _ in range(40):
    blocks = [b"x" * (1 << 20) for _ in range(8)]
    del blocks
print(kept, faults() - before)
"""


def page_faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, timeout=60)
    kept, faults = out.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt thresholds are glibc's (Linux)")
def test_freed_unit_sized_blocks_are_reused_instead_of_faulted_in_again():
    kept, faults = page_faults("keep")
    assert kept == "True"
    _, faults_by_default = page_faults("default")
    touched_pages = 40 * 8 * (1 << 20) // 4096
    assert faults < touched_pages // 20 < faults_by_default
