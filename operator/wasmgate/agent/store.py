"""The node's content-addressed blob store: a file exists under its final name only if its bytes
hash to that name.

The scheduler loads `file://<root>/sha256/<hex>` and verify-store re-hashes it first, so a
partial, torn or tampered file under a final name would be loaded or would block the scheduler.
Every write therefore goes to a hidden temp file in the same directory (same filesystem, so the
rename is atomic), is fsynced and re-hashed from disk, renamed, and the directory is fsynced so
the rename survives a power cut. Hidden files are leftovers of a killed pull and are removed at
start-up, together with any final file whose bytes no longer match its name. While the agent runs,
a blob whose file changed since it was verified (another inode, size, mtime or ctime: any write
or replacement through the filesystem) is re-hashed and removed if it no longer matches, so the
agent pulls it again instead of waiting for its next start.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from wasmgate.errors import DigestMismatch, StoreFull

ALGORITHM = "sha256"
HASH_CHUNK_BYTES = 1 << 20
_HEX_LENGTH = 64
_HEX_DIGITS = frozenset("0123456789abcdef")

log = logging.getLogger(__name__)


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a file, read in chunks so memory does not grow with its size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return f"{ALGORITHM}:{digest.hexdigest()}"


def hex_of(digest: str) -> str:
    """The hex part of `sha256:<hex>`; refuses anything that could escape the store directory."""
    algorithm, _, hex_part = digest.partition(":")
    if algorithm != ALGORITHM or len(hex_part) != _HEX_LENGTH or set(hex_part) - _HEX_DIGITS:
        raise ValueError(f"{digest!r} is not a sha256:<64 lowercase hex> digest")
    return hex_part


def is_blob_name(name: str) -> bool:
    """Whether a file name in the store directory is a final blob name."""
    return len(name) == _HEX_LENGTH and not set(name) - _HEX_DIGITS


# errno of a write to a full filesystem, and of a write over the user's quota.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def _free_bytes(directory: Path) -> int:
    found = os.statvfs(directory)
    return found.f_bavail * found.f_frsize


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


Fingerprint = tuple[int, int, int, int]


# File timestamps tick at the kernel's coarse clock (milliseconds), so a write right after a
# check may leave the fingerprint unchanged; like git's "racily clean" index entries, a
# fingerprint younger than this is not trusted and the next check hashes again.
RACY_SECONDS = 2.0


def _fingerprint(path: Path) -> Fingerprint:
    """What a write or a replacement of the file changes: inode, size, mtime and ctime (ctime
    moves even when someone sets mtime back)."""
    found = path.stat()
    return (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class ScanResult:
    """What the start-up check found."""

    verified: dict[str, int]
    """Digest -> size of every blob whose bytes match its name."""
    removed_corrupt: list[str]
    """Digests whose file did not hash to its name and was removed."""
    removed_partial: list[str]
    """Hidden leftovers of interrupted pulls that were removed."""


class BlobStore:
    """`<root>/sha256/<hex>` files, a byte cap, and collection of blobs nobody references."""

    def __init__(self, root: Path, capacity_bytes: int, grace_seconds: float) -> None:
        self.root = root
        self.directory = root / ALGORITHM
        self.capacity_bytes = capacity_bytes
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._reserved: dict[str, int] = {}
        self._unreferenced_since: dict[str, float] = {}
        self._verified: dict[str, Fingerprint] = {}

    def path_for(self, digest: str) -> Path:
        """Final path of a digest."""
        return self.directory / hex_of(digest)

    def has(self, digest: str) -> bool:
        """Whether the blob is present under its final name."""
        return self.path_for(digest).is_file()

    def blobs(self) -> dict[str, int]:
        """Digest -> size of every blob under a final name."""
        found: dict[str, int] = {}
        if not self.directory.is_dir():
            return found
        for entry in os.scandir(self.directory):
            if is_blob_name(entry.name) and entry.is_file(follow_symlinks=False):
                found[f"{ALGORITHM}:{entry.name}"] = entry.stat(follow_symlinks=False).st_size
        return found

    def used_bytes(self) -> int:
        """Bytes held by final blobs."""
        return sum(self.blobs().values())

    def scan(self) -> ScanResult:
        """Start-up check: drop leftovers of killed pulls, re-hash every blob, drop mismatches."""
        self.directory.mkdir(parents=True, exist_ok=True)
        verified: dict[str, int] = {}
        corrupt: list[str] = []
        partial: list[str] = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            path = Path(entry.path)
            if entry.name.startswith("."):
                path.unlink(missing_ok=True)
                partial.append(entry.name)
                continue
            if not is_blob_name(entry.name) or not entry.is_file(follow_symlinks=False):
                log.warning("store: ignoring %s, which is not a blob name", path)
                continue
            digest = f"{ALGORITHM}:{entry.name}"
            if file_digest(path) == digest:
                verified[digest] = entry.stat().st_size
                self._remember(digest, _fingerprint(path))
            else:
                path.unlink(missing_ok=True)
                corrupt.append(digest)
                log.warning("store: %s did not hash to its name and was removed", path)
        if corrupt or partial:
            _fsync_directory(self.directory)
        return ScanResult(verified, corrupt, partial)

    def _remember(self, digest: str, seen: Fingerprint) -> None:
        if time.time_ns() - max(seen[2], seen[3]) > RACY_SECONDS * 1e9:
            self._verified[digest] = seen
        else:
            self._verified.pop(digest, None)

    def intact(self, digest: str) -> bool:
        """Whether the blob is still present with the bytes it was verified with.

        The file is re-hashed only when its fingerprint changed since the last check; a file
        that no longer hashes to its name is removed (and False returned), so the agent pulls it
        again and verify-store stops refusing it.
        """
        path = self.path_for(digest)
        try:
            seen = _fingerprint(path)
            if self._verified.get(digest) == seen:
                return True
            matches = file_digest(path) == digest
        except FileNotFoundError:
            return False
        if matches:
            self._remember(digest, seen)
            return True
        log.warning("store: %s changed after it was verified and no longer hashes to its name; "
                    "removed", path)  # fmt: skip
        self._verified.pop(digest, None)
        self.remove(digest)
        return False

    def reserve(self, digest: str, size: int) -> None:
        """Claim room for a pull of `size` bytes; raise StoreFull when the cap would be passed."""
        with self._lock:
            used = self.used_bytes() + sum(self._reserved.values())
            if used + size > self.capacity_bytes:
                raise StoreFull(
                    f"store {self.root}: {digest} needs {size} bytes, {used} of "
                    f"{self.capacity_bytes} are used or being pulled; raise the agent's "
                    "--capacity or remove plugins"
                )
            self._reserved[digest] = size

    def release(self, digest: str) -> None:
        """Forget a reservation once its pull finished or failed."""
        with self._lock:
            self._reserved.pop(digest, None)

    def put(self, digest: str, write: Callable[[Path], None]) -> int:
        """Have `write` produce the blob at a hidden path, verify it from disk, publish it.

        Returns the size. Raises DigestMismatch (and leaves nothing behind) if the bytes on disk
        do not hash to `digest`.
        """
        final = self.path_for(digest)
        staging = self.directory / f".pull-{final.name}-{os.getpid()}"
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            write(staging)
            _fsync_file(staging)
            actual = file_digest(staging)
            if actual != digest:
                raise DigestMismatch(
                    f"store {self.root}: the pulled bytes hash to {actual}, not {digest}"
                )
            size = staging.stat().st_size
            staging.rename(final)
            # After the rename: a rename moves the file's ctime on most filesystems.
            self._remember(digest, _fingerprint(final))
        except OSError as e:
            if e.errno not in _NO_SPACE:
                raise
            # The filesystem filled up before --capacity did (a small volume, or other files on
            # it): the same condition as the cap, retried when space frees.
            raise StoreFull(
                f"store {self.root}: its filesystem ran out of space while writing {digest} "
                f"({_free_bytes(self.directory)} bytes free); give the store a larger volume or "
                "set the agent's --capacity below the free space"
            ) from e
        finally:
            staging.unlink(missing_ok=True)
        _fsync_directory(self.directory)
        return size

    def remove(self, digest: str) -> None:
        """Delete a blob and make the deletion durable."""
        self._verified.pop(digest, None)
        self.path_for(digest).unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def collect(
        self, referenced: Iterable[str], busy: Iterable[str], now: float | None = None
    ) -> list[str]:
        """Remove blobs that nothing referenced for longer than the grace period.

        The clock starts when a blob is first seen unreferenced by this process, so a restart
        restarts the grace period rather than collecting early.
        """
        moment = time.monotonic() if now is None else now
        keep = set(referenced) | set(busy)
        collected: list[str] = []
        present = self.blobs()
        for digest in list(self._unreferenced_since):
            if digest in keep or digest not in present:
                del self._unreferenced_since[digest]
        for digest in present:
            if digest in keep:
                continue
            since = self._unreferenced_since.setdefault(digest, moment)
            if moment - since >= self.grace_seconds:
                self.remove(digest)
                del self._unreferenced_since[digest]
                collected.append(digest)
        return collected
