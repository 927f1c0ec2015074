"""The layout tar: what is written reads back, and a bundle that was altered is refused."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from wasmgate.airgap.layout_tar import LayoutWriter, read_layout
from wasmgate.errors import ArtifactInvalid, DigestMismatch
from wasmgate.oci.manifest import OCI_MANIFEST, Descriptor


def _bundle(path: Path, blobs: list[bytes]) -> list[str]:
    with LayoutWriter(path) as writer:
        digests = [writer.add_bytes(blob) for blob in blobs]
        writer.finish([Descriptor(OCI_MANIFEST, digests[0], len(blobs[0]), {"k": "v"})])
    return digests


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """Copy a tar, replacing (or, with None, dropping) the named members."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old:
            data = old.extractfile(member)
            content = data.read() if data else b""
            if member.name in change:
                replacement = change[member.name]
                if replacement is None:
                    continue
                content = replacement
            member.size = len(content)
            new.addfile(member, io.BytesIO(content))


def test_a_written_layout_reads_back(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    digests = _bundle(bundle, [b'{"schemaVersion":2}', b"blob"])

    layout = read_layout(bundle, tmp_path / "out")

    assert [d.digest for d in layout.manifests] == [digests[0]]
    assert layout.manifests[0].annotations == {"k": "v"}
    assert layout.blob_bytes(digests[1]) == b"blob"
    assert list(tmp_path.glob(".b.tar.*")) == []  # no temp file left beside it


def test_an_unfinished_writer_leaves_nothing(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    with pytest.raises(RuntimeError), LayoutWriter(bundle) as writer:
        writer.add_bytes(b"x")
        raise RuntimeError("registry went away")

    assert list(tmp_path.iterdir()) == []


def test_an_altered_blob_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    digests = _bundle(bundle, [b'{"schemaVersion":2}', b"blob"])
    altered = tmp_path / "altered.tar"
    _rewrite(bundle, altered, {f"blobs/sha256/{digests[1][7:]}": b"BLOB"})

    with pytest.raises(DigestMismatch) as raised:
        read_layout(altered, tmp_path / "out")

    actual = "sha256:" + hashlib.sha256(b"BLOB").hexdigest()
    assert f"hashes to {actual}; the bundle is corrupt or was altered" in raised.value.message


@pytest.mark.parametrize(
    ("name", "kind"),
    [("../etc/passwd", tarfile.REGTYPE), ("blobs/sha256/link", tarfile.SYMTYPE)],
    ids=["path-escape", "symlink"],
)
def test_entries_outside_the_layout_are_refused(tmp_path: Path, name: str, kind: bytes) -> None:
    bundle = tmp_path / "b.tar"
    _bundle(bundle, [b"{}"])
    with tarfile.open(bundle, "a") as archive:
        member = tarfile.TarInfo(name)
        member.type = kind
        member.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
        archive.addfile(member, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)

    with pytest.raises(ArtifactInvalid) as raised:
        read_layout(bundle, tmp_path / "out")

    assert f"unexpected entry {name!r}" in raised.value.message
    assert not (tmp_path / "etc").exists()


def test_a_bundle_without_index_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    _bundle(bundle, [b"{}"])
    stripped = tmp_path / "stripped.tar"
    _rewrite(bundle, stripped, {"index.json": None})

    with pytest.raises(ArtifactInvalid) as raised:
        read_layout(stripped, tmp_path / "out")

    assert "no usable index.json" in raised.value.message
