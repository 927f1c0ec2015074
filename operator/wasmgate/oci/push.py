"""Push a wasm module as a CNCF wasm artifact, the layout every wasm-aware tool reads.

Plugin authors get one command that produces the right media types and the standard
`org.opencontainers.image.*` annotations, and tells them the digest to sign.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from wasmgate.errors import ArtifactTooLarge, InvalidSpec
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.layout import WASM_CONFIG, WASM_LAYER
from wasmgate.oci.manifest import OCI_MANIFEST
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate.oci.settings import RegistrySettings

WASM_MAGIC = b"\0asm"
CREATED = "org.opencontainers.image.created"
TITLE = "org.opencontainers.image.title"


def wasm_config(layer_digest: str, created: str) -> bytes:
    """The config blob of the CNCF wasm layout for a core module (os `wasip1`)."""
    document = {
        "created": created,
        "architecture": "wasm",
        "os": "wasip1",
        "layerDigests": [layer_digest],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def wasm_manifest(
    config: Mapping[str, object],
    layer: Mapping[str, object],
    annotations: Mapping[str, str],
) -> bytes:
    """The OCI image manifest of the CNCF wasm layout."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": dict(config),
        "layers": [dict(layer)],
        "annotations": dict(annotations),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _check_module(path: Path, cap: int) -> None:
    if not path.is_file():
        raise InvalidSpec(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(4) != WASM_MAGIC:
            raise InvalidSpec(f"{path}: not a WebAssembly binary (no \\0asm header)")
    if path.stat().st_size > cap:
        raise ArtifactTooLarge(f"{path}: {path.stat().st_size} bytes; the cap is {cap}")


def push_wasm(
    path: Path,
    reference: str | Reference,
    settings: RegistrySettings,
    credentials: Credentials | None = None,
    annotations: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> str:
    """Push `path` under `reference` (which must have a tag) and return the manifest digest."""
    ref = parse_reference(reference, "REF") if isinstance(reference, str) else reference
    if ref.tag is None or ref.digest is not None:
        raise InvalidSpec(f'REF: "{ref}" must name a tag (and no digest) to push to')
    _check_module(path, settings.max_blob_bytes)
    timestamp = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with RegistryClient(ref.registry, settings, credentials, ref.repository) as client:
        layer = client.put_blob(ref.repository, path)
        config_bytes = wasm_config(layer.digest, timestamp)
        config = client.put_blob(ref.repository, config_bytes)
        manifest = wasm_manifest(
            {"mediaType": WASM_CONFIG, "digest": config.digest, "size": config.size},
            {
                "mediaType": WASM_LAYER,
                "digest": layer.digest,
                "size": layer.size,
                "annotations": {TITLE: path.name},
            },
            {CREATED: timestamp, **(annotations or {})},
        )
        return client.put_manifest(ref.repository, ref.tag, manifest, OCI_MANIFEST)
