"""Tune glibc's allocator for a long-running worker: large buffers go back to the OS when freed, few arenas.

glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MiB on 64-bit), so after the first
5 MiB upload part every later part comes from the heap, whose freed pages the process keeps: a fetch worker's RSS grew
by ~25 MB over one 230 MB recording that way (bench/memory_large_recording.py). A fixed 1 MiB threshold keeps big
buffers mmapped and returned on free. Each thread that allocates may also get its own arena (up to 8 x cores), each
holding its own free pages; two are plenty for a worker whose threads only run blocking file and audio work.

The settings of `MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_ARENA_MAX=2`, for a worker started without them. From the
environment (the Dockerfile sets both) they hold from the first allocation and did better still: that bench peaked at
125 MB with them, 141 MB with this call alone, 150 MB with neither. Does nothing without glibc's `mallopt`.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from shared.logging import get_logger

log = get_logger(__name__)

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1024 * 1024
ARENA_MAX = 2


def tune_allocator() -> bool:
    """Apply the settings above; True if the C library took them."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("allocator_not_tuned", libc=name)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_ARENA_MAX, ARENA_MAX))
    log.debug("allocator_tuned", applied=applied, mmap_threshold=MMAP_THRESHOLD_BYTES, arena_max=ARENA_MAX)
    return applied
