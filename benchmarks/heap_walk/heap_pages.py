"""Which objects keep pages of glibc's main heap resident: a diagnostic for the operator's RSS.

After a burst of plugins is deleted, most of what the operator keeps above its cold RSS is pages
of the main heap that hold a few live chunks among free ones (docs/operations.md, Sizing). This
walks the heap's chunks by glibc's size fields, asks `/proc/self/pagemap` which pages are
resident, and names the Python type of each in-use chunk on a resident page that holds less than
`SPARSE_BYTES` in use, from the type pointer in the object header the chunk would carry. Chunks
that are not Python objects (dictionary tables, list arrays, C libraries' allocations) are
counted by size. `tracemalloc` could not answer this: it names the line a block was first
allocated at, not what lives on a page now.

Run inside the operator only (sitecustomize.py here starts it), with `PYTHONMALLOC=malloc`.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

PAGE = 4096
SPARSE_BYTES = 1024
"""A resident page with less than this in use is one a compacting allocator would give back."""
HEADER_OFFSETS = ((0, ""), (16, ""), (32, "managed-dict "))
"""Where an object header may sit after a chunk's user pointer: no pre-header, the GC header, or
CPython 3.11's managed-dictionary pointers before the GC header."""


def _known_types() -> dict[int, str]:
    seen: dict[int, type] = {}
    stack: list[type] = [object]
    while stack:
        kind = stack.pop()
        if id(kind) not in seen:
            seen[id(kind)] = kind
            stack.extend(type.__subclasses__(kind))
    return {address: f"{t.__module__}.{t.__qualname__}" for address, t in seen.items()}


def _main_heap() -> tuple[int, int]:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[heap]"):
            start, end = line.split()[0].split("-")
            return int(start, 16), int(end, 16)
    raise RuntimeError("no [heap] mapping: not glibc's malloc?")


def _resident(start: int, end: int) -> list[bool]:
    pages = (end - start) // PAGE
    with Path("/proc/self/pagemap").open("rb") as pagemap:
        pagemap.seek(start // PAGE * 8)
        raw = pagemap.read(pages * 8)
    return [bool(entry >> 63) for (entry,) in struct.iter_unpack("<Q", raw)]


def _chunks(start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """(address, size, in use) of each chunk; a chunk is in use when the next one says so."""
    word = ctypes.c_uint64
    address = start
    previous: tuple[int, int] | None = None
    while address + 16 <= end:
        field = word.from_address(address + 8).value
        size = field & ~7
        if size < 32 or address + size > end:
            break
        if previous is not None:
            yield previous[0], previous[1], bool(field & 1)
        previous = (address, size)
        address += size
    if previous is not None:
        yield previous[0], previous[1], False  # the top chunk


def _kind(chunk: int, size: int, types: dict[int, str]) -> tuple[str, int | None]:
    """What the chunk holds, and the address of the object in it (None when it holds none)."""
    word = ctypes.c_uint64
    user = chunk + 16
    for offset, prefix in HEADER_OFFSETS:
        if offset + 16 > size - 8:
            break
        refcount = word.from_address(user + offset).value
        type_address = word.from_address(user + offset + 8).value
        if type_address in types and 0 < refcount < 1 << 40:
            return prefix + types[type_address], user + offset
    return f"not an object, {min(size, PAGE) // 64 * 64}+ bytes", None


def _live_objects() -> dict[int, Any]:
    """Every object the collector tracks and the untracked ones they hold, by address."""
    live: dict[int, Any] = {}
    for tracked in gc.get_objects():
        live[id(tracked)] = tracked
        stack = [r for r in gc.get_referents(tracked) if not gc.is_tracked(r)]
        while stack:
            item = stack.pop()
            if id(item) not in live:
                live[id(item)] = item
                if type(item) in (dict, tuple, list, frozenset):
                    stack.extend(r for r in gc.get_referents(item) if not gc.is_tracked(r))
    return live


def _describe(item: Any, kind: str) -> str:
    if isinstance(item, str):
        shape = re.sub(r"[0-9a-f]{6,}", "H", re.sub(r"[0-9]", "9", item))
        return f"str {shape[:40]!r}"
    if isinstance(item, dict):
        return "dict of " + ",".join(sorted(str(key) for key in list(item)[:6]))[:60]
    if isinstance(item, tuple):
        return "tuple " + repr(item)[:50]
    return kind


def walk(out: TextIO, label: str) -> None:
    """Write what holds the main heap's sparse resident pages to `out`."""
    start, end = _main_heap()
    resident = _resident(start, end)
    types = _known_types()
    in_use: dict[int, int] = collections.Counter()
    on_page: dict[int, list[tuple[str, int | None]]] = collections.defaultdict(list)
    for chunk, size, used in _chunks(start, end):
        if not used:
            continue
        kind_and_address = _kind(chunk, size, types)
        first, last = (chunk - start) // PAGE, (chunk + size - 1 - start) // PAGE
        for page in range(first, min(last, len(resident) - 1) + 1):
            if resident[page]:
                in_use[page] += min(size, PAGE)
                on_page[page].append(kind_and_address)
    sparse = [page for page in on_page if in_use[page] < SPARSE_BYTES]
    out.write(
        f"{label}: main heap {(end - start) >> 20} MB, {sum(resident) * PAGE >> 20} MB resident; "
        f"{len(sparse)} resident pages with less than {SPARSE_BYTES} bytes in use\n"
    )
    live = _live_objects()
    held = collections.Counter()
    for page in sparse:
        for kind, address in on_page[page]:
            held[_describe(live[address], kind) if address in live else kind] += 1
    del live
    for what, count in held.most_common(60):
        out.write(f"  {count:6d}  {what}\n")
    out.flush()
