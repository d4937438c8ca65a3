"""Keep freed memory in the process heap instead of handing it back to the kernel.

glibc's malloc serves blocks above its mmap threshold (128 KiB at start, raised only after
such a block is freed) from fresh mappings and unmaps them on free, and it trims the heap top
beyond twice that threshold. Writing load.json allocates the same few megabytes for every unit
(the joined endpoint lists, the encoded offsets), so each unit touched fresh pages: one page
fault per 4 KiB, about 8 µs each on the VMs here, which made `loadgen generate` of 13 million
calls 1.5 times slower once the trace was no longer read by a parser that happened to free a
large block first (bench/generate.py). `keep_freed_memory` fixes both thresholds (mallopt(3))
so that such blocks are reused; elsewhere than glibc it does nothing.
"""

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20
"""glibc's largest mmap threshold on 64-bit systems; blocks above it are still mapped."""
TRIM_THRESHOLD_BYTES = 256 << 20
"""Free memory kept at the heap top before it is returned."""


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for the process; False where there is no mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
