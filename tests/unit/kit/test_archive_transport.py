"""skopeo is told each archive's format: the kit writes docker archives and OCI layout tars."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from wasmgate_kit.errors import KitError
from wasmgate_kit.image_push import archive_transport
from wasmgate_kit.images import StaticImage


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_static_image_is_pushed_as_an_oci_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = tmp_path / "kube-scheduler-wasm-extension"
    binary.write_bytes(b"\x7fELF static")
    _, archive = StaticImage("wasmgate.kit/kube-scheduler-wasm-extension", binary).archive()
    assert archive_transport(archive) == "oci-archive"


def test_a_buildah_docker_archive_is_pushed_as_one(tmp_path: Path) -> None:
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": []}]).encode()
    archive = _tar(tmp_path / "image.tar", {"manifest.json": manifest, "c.json": b"{}"})
    assert archive_transport(archive) == "docker-archive"


def test_another_tar_is_refused_by_name(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "files.tar", {"README.md": b"not an image"})
    with pytest.raises(KitError, match=r"files\.tar is neither an OCI layout nor a docker archive"):
        archive_transport(archive)
