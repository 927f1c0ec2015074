"""glibc's heap through ctypes: how much of it is free, and giving free pages back to the system.

The operator runs with CPython's objects in this heap (`PYTHONMALLOC=malloc`, set by the image
and the kit; docs/operations.md, Sizing), so memory freed after a burst of plugins is free here,
where `malloc_trim(0)` can return every whole free page. Without glibc (musl, macOS), or with a
glibc older than 2.33 (no `mallinfo2`), `load` gives what it can: None, or no free count.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass
from typing import Any

_MALLINFO2_FIELDS = (
    "arena", "ordblks", "smblks", "hblks", "hblkhd",
    "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
)  # fmt: skip
"""struct mallinfo2 (glibc 2.33 and later): ten size_t fields, in this order."""


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


@dataclass(frozen=True)
class GlibcHeap:
    """The C library's `malloc_trim` and, where it exists, `mallinfo2`."""

    _malloc_trim: Any
    _mallinfo2: Any | None

    def trim(self) -> None:
        """Return every whole free page of every arena to the system."""
        self._malloc_trim(0)

    def free_bytes(self) -> int | None:
        """Bytes the heap holds free (returned to the system or not); None without mallinfo2."""
        if self._mallinfo2 is None:
            return None
        return int(self._mallinfo2().fordblks)


@functools.cache
def load() -> GlibcHeap | None:
    """glibc's heap functions; None where the C library has no malloc_trim. Looked up once per
    process (`find_library` runs `ldconfig -p`), however many users the heap has."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    mallinfo2 = getattr(libc, "mallinfo2", None)
    if mallinfo2 is not None:
        mallinfo2.argtypes = []
        mallinfo2.restype = _MallInfo2
    return GlibcHeap(malloc_trim, mallinfo2)
