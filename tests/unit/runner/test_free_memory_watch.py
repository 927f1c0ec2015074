"""The free-memory watch trims glibc's heap once enough was freed, and not on a quiet heap."""

from __future__ import annotations

from pathlib import Path

from wasmgate.runner import glibc_heap
from wasmgate.runner.free_memory_watch import FreeMemoryWatch

MIB = 1 << 20
CHUNK = 64 * 1024
"""Below glibc's mmap threshold: chunks of this size come from the heap, not from mmap."""


def _resident_anonymous_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def _load() -> glibc_heap.GlibcHeap:
    heap = glibc_heap.load()
    assert heap is not None, "this test needs glibc (the image and the kit run on it)"
    return heap


def test_glibc_reports_its_free_bytes() -> None:
    free = _load().free_bytes()
    assert free is not None
    assert free >= 0


def test_memory_freed_in_the_heap_goes_back_to_the_system_once() -> None:
    heap = _load()
    watch = FreeMemoryWatch(heap, limit=16 * MIB)
    assert not watch.check(), "nothing was freed yet"
    chunks = [bytearray(CHUNK) for _ in range(64 * MIB // CHUNK)]
    # The last chunk stays: the freed ones lie below it, where glibc does not give pages back
    # by itself (it trims only the top of the heap).
    last = chunks[-1]
    del chunks
    resident = _resident_anonymous_bytes()
    assert watch.check()
    returned = resident - _resident_anonymous_bytes()
    assert returned >= 32 * MIB, f"only {returned >> 20} MiB went back"
    assert not watch.check(), "the same free memory is not trimmed twice"
    assert len(last) == CHUNK


def test_freed_memory_that_was_reused_and_freed_again_counts_once() -> None:
    heap = _load()
    watch = FreeMemoryWatch(heap, limit=16 * MIB)
    for _ in range(3):
        chunks = [bytearray(CHUNK) for _ in range(8 * MIB // CHUNK)]
        last = chunks[-1]
        del chunks
        del last
    assert not watch.check(), "8 MiB freed three times is not 16 MiB"
