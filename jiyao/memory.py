"""Memory behaviour of the long-running daemon.

glibc raises its mmap threshold each time a large buffer is freed, up to 32 MiB, so after
one big attachment the next ones are carved from the heap, whose freed space is rarely
given back: measured on a 30 MiB message, the daemon stayed at 139 MiB after the second
such message instead of returning to 63. A fixed threshold keeps large buffers in their
own mappings, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
LARGE_BUFFER_BYTES = 1024 * 1024


def return_large_buffers(threshold: int = LARGE_BUFFER_BYTES) -> bool:
    """Fix glibc's mmap threshold; False where the C library has no mallopt (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("mallopt unavailable; the allocator keeps its defaults")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
