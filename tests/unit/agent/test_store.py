"""The store publishes only verified bytes under final names, caps its size and collects."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from wasmgate.agent.store import BlobStore, file_digest, hex_of
from wasmgate.errors import DigestMismatch, StoreFull

GRACE = 10.0


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _store(tmp_path: Path, capacity: int = 1 << 20) -> BlobStore:
    return BlobStore(tmp_path / "store", capacity, GRACE)


def test_put_publishes_verified_bytes_under_the_digest_and_leaves_no_temp(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = b"\0asm\1\0\0\0module"
    size = store.put(_digest(data), lambda path: path.write_bytes(data))
    assert size == len(data)
    assert store.path_for(_digest(data)).read_bytes() == data
    assert sorted(p.name for p in store.directory.iterdir()) == [hex_of(_digest(data))]


def test_put_refuses_bytes_that_do_not_match_and_leaves_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    claimed = _digest(b"what the status says")
    with pytest.raises(DigestMismatch) as caught:
        store.put(claimed, lambda path: path.write_bytes(b"what the registry sent"))
    assert caught.value.reason == "DigestMismatch"
    assert f"not {claimed}" in caught.value.message
    assert list(store.directory.iterdir()) == []


def test_put_removes_the_staging_file_when_the_writer_fails(tmp_path: Path) -> None:
    store = _store(tmp_path)

    def half_then_crash(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        store.put(_digest(b"whole"), half_then_crash)
    assert list(store.directory.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["no-space", "over-quota"])
def test_a_full_filesystem_is_store_full_and_leaves_nothing(tmp_path: Path, code: int) -> None:
    store = _store(tmp_path)
    data = b"module bytes"

    def write_until_full(path: Path) -> None:
        path.write_bytes(data[:4])
        raise OSError(code, os.strerror(code))

    with pytest.raises(StoreFull) as caught:
        store.put(_digest(data), write_until_full)
    assert caught.value.reason == "StoreFull"
    assert "its filesystem ran out of space while writing" in caught.value.message
    assert "give the store a larger volume" in caught.value.message
    assert list(store.directory.iterdir()) == []


def test_other_write_errors_are_not_store_full(tmp_path: Path) -> None:
    store = _store(tmp_path)

    def unreadable(path: Path) -> None:
        raise PermissionError(errno.EACCES, "denied")

    with pytest.raises(PermissionError):
        store.put(_digest(b"x"), unreadable)


def test_scan_keeps_good_blobs_and_removes_tampered_and_partial_files(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good, bad = b"good bytes", b"original bytes"
    store.put(_digest(good), lambda p: p.write_bytes(good))
    store.put(_digest(bad), lambda p: p.write_bytes(bad))
    store.path_for(_digest(bad)).write_bytes(b"tampered bytes")
    (store.directory / ".pull-abc-123").write_bytes(b"partial")
    (store.directory / "README").write_text("not a blob")
    result = store.scan()
    assert result.verified == {_digest(good): len(good)}
    assert result.removed_corrupt == [_digest(bad)]
    assert result.removed_partial == [".pull-abc-123"]
    assert sorted(p.name for p in store.directory.iterdir()) == sorted(
        [hex_of(_digest(good)), "README"]
    )


def test_reserve_refuses_past_the_cap_counting_pulls_in_flight(tmp_path: Path) -> None:
    store = _store(tmp_path, capacity=100)
    data = b"x" * 60
    store.put(_digest(data), lambda p: p.write_bytes(data))
    store.reserve("sha256:" + "a" * 64, 30)
    with pytest.raises(StoreFull) as caught:
        store.reserve("sha256:" + "b" * 64, 20)
    assert caught.value.reason == "StoreFull"
    assert "needs 20 bytes, 90 of 100 are used or being pulled" in caught.value.message
    store.release("sha256:" + "a" * 64)
    store.reserve("sha256:" + "b" * 64, 20)


def test_collect_waits_for_the_grace_period_and_spares_referenced_and_busy(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    blobs = {name: name.encode() * 10 for name in ("kept", "busy", "orphan")}
    digests = {name: _digest(data) for name, data in blobs.items()}
    for name, data in blobs.items():
        store.put(digests[name], lambda p, d=data: p.write_bytes(d))
    referenced, busy = [digests["kept"]], [digests["busy"]]
    assert store.collect(referenced, busy, now=100.0) == []
    assert store.collect(referenced, busy, now=100.0 + GRACE - 0.1) == []
    assert store.collect(referenced, busy, now=100.0 + GRACE) == [digests["orphan"]]
    assert not store.has(digests["orphan"])
    assert store.has(digests["kept"]) and store.has(digests["busy"])


def test_a_blob_referenced_again_restarts_its_grace_period(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = b"comes back"
    store.put(_digest(data), lambda p: p.write_bytes(data))
    assert store.collect([], [], now=0.0) == []
    assert store.collect([_digest(data)], [], now=GRACE - 1) == []
    assert store.collect([], [], now=GRACE + 1) == []
    assert store.collect([], [], now=2 * GRACE) == []
    assert store.collect([], [], now=2 * GRACE + 1) == [_digest(data)]


@pytest.mark.parametrize(
    "digest",
    ["sha256:../../etc/passwd", "sha512:" + "a" * 64, "sha256:" + "A" * 64, "sha256:" + "a" * 63],
    ids=["path-traversal", "other-algorithm", "uppercase-hex", "short-hex"],
)
def test_digests_that_are_not_store_names_are_refused(digest: str) -> None:
    with pytest.raises(ValueError, match="is not a sha256:<64 lowercase hex> digest"):
        hex_of(digest)


def test_file_digest_streams_a_file_larger_than_one_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000
    path = tmp_path / "big"
    path.write_bytes(data)
    assert file_digest(path) == _digest(data)


def test_a_blob_changed_on_disk_after_it_was_verified_is_removed_by_intact(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = b"\0asm\1\0\0\0verified"
    digest = _digest(data)
    store.put(digest, lambda p: p.write_bytes(data))
    assert store.intact(digest)
    with store.path_for(digest).open("r+b") as handle:  # same name, same size, other bytes
        handle.seek(4)
        handle.write(b"\xff")
    assert not store.intact(digest)
    assert not store.has(digest)
    assert not store.intact(digest)


def test_intact_rehashes_only_a_file_whose_fingerprint_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wasmgate.agent.store.RACY_SECONDS", -1.0)
    store = _store(tmp_path)
    data = b"\0asm\1\0\0\0unchanged"
    digest = _digest(data)
    store.put(digest, lambda p: p.write_bytes(data))
    hashed: list[Path] = []

    def counted(path: Path) -> str:
        hashed.append(path)
        return file_digest(path)

    monkeypatch.setattr("wasmgate.agent.store.file_digest", counted)
    assert store.intact(digest) and store.intact(digest)
    assert hashed == []
    # Touched (mtime set back, ctime moved), bytes unchanged: re-hashed once, kept.
    os.utime(store.path_for(digest), ns=(0, 0))
    assert store.intact(digest) and store.intact(digest)
    assert hashed == [store.path_for(digest)]
