"""Container images the kit assembles itself, for a real node that can reach no registry.

There is no registry.k8s.io here, so the sandbox ("pause") image is made from the kit's own
static `kit-pause` binary: one uncompressed layer holding the binary, a config that runs it as
UID 65532, written as an OCI image layout archive that `ctr images import` accepts. Archives are
named by the digest of what goes in and cached under the kit cache, so a warm start writes
nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmgate_kit.paths import cache_root

NON_ROOT = "65532:65532"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
OCI_REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class StaticImage:
    """An image of one static binary: `/<name>` is its entrypoint."""

    repository: str
    binary: Path

    def _layer(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(self.binary.name)
            info.mode, info.mtime = 0o755, 0
            data = self.binary.read_bytes()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def _config(self, layer: bytes) -> bytes:
        config: dict[str, Any] = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": [f"/{self.binary.name}"], "User": NON_ROOT},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        }
        return json.dumps(config, sort_keys=True).encode()

    def archive(self) -> tuple[str, Path]:
        """(reference, OCI archive path); the tag is the content digest, so it never lies."""
        layer = self._layer()
        config = self._config(layer)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": _descriptor(OCI_CONFIG, config),
                "layers": [_descriptor(OCI_LAYER, layer)],
            },
            sort_keys=True,
        ).encode()
        tag = _digest(manifest).removeprefix("sha256:")[:16]
        reference = f"{self.repository}:{tag}"
        path = cache_root() / "images" / f"{self.repository.replace('/', '_')}-{tag}.tar"
        if not path.exists():
            _write_layout(path, reference, tag, manifest, [config, layer, manifest])
        return reference, path


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}


def _write_layout(
    path: Path, reference: str, tag: str, manifest: bytes, blobs: list[bytes]
) -> None:
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **_descriptor(OCI_MANIFEST, manifest),
                "annotations": {CONTAINERD_NAME_ANNOTATION: reference, OCI_REF_ANNOTATION: tag},
            }
        ],
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index).encode(),
        **{f"blobs/sha256/{_digest(b).removeprefix('sha256:')}": b for b in blobs},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with tarfile.open(temporary, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    temporary.rename(path)
