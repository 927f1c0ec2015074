"""Manifest parsing and layout detection over the three accepted layouts and malformed input."""

import json

import pytest

from wasmgate.errors import ArtifactInvalid, ArtifactTooLarge
from wasmgate.oci.layout import Layout, detect_layout
from wasmgate.oci.manifest import parse_manifest

D = ["sha256:" + c * 64 for c in "0123456789abcdef"]
OCI = "application/vnd.oci.image.manifest.v1+json"


def _manifest(config: str, layers: list[str], media_type: str | None = OCI) -> bytes:
    document: dict[str, object] = {
        "schemaVersion": 2,
        "config": {"mediaType": config, "digest": D[0], "size": 2},
        "layers": [{"mediaType": m, "digest": D[i + 1], "size": 10} for i, m in enumerate(layers)],
    }
    if media_type:
        document["mediaType"] = media_type
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "layout", "layer_index"),
    [
        (_manifest("application/vnd.wasm.config.v0+json", ["application/wasm"]), Layout.CNCF, 0),
        (_manifest("application/vnd.oci.empty.v1+json", ["application/wasm"]), Layout.ORAS, 0),
        (
            _manifest(
                "application/vnd.oci.empty.v1+json", ["application/vnd.wasm.content.layer.v1+wasm"]
            ),
            Layout.ORAS,
            0,
        ),
        (
            _manifest(
                "application/vnd.unknown.config.v1+json",
                ["application/vnd.module.wasm.content.layer.v1+wasm"],
                media_type=None,
            ),
            Layout.ORAS,
            0,
        ),
        (
            _manifest(
                "application/vnd.oci.image.config.v1+json",
                ["application/vnd.oci.image.layer.v1.tar+gzip"] * 2,
            ),
            Layout.COMPAT,
            1,
        ),
        (
            _manifest(
                "application/vnd.docker.container.image.v1+json",
                ["application/vnd.docker.image.rootfs.diff.tar.gzip"],
                "application/vnd.docker.distribution.manifest.v2+json",
            ),
            Layout.COMPAT,
            0,
        ),
    ],
    ids=[
        "cncf",
        "oras-application-wasm",
        "oras-old-content-layer",
        "oras-module-layer-no-mediatype",
        "compat-oci-last-layer",
        "compat-docker",
    ],
)
def test_detect_layout(data: bytes, layout: Layout, layer_index: int) -> None:
    manifest = parse_manifest(data, D[15], None, 16)
    detected = detect_layout(manifest)
    assert detected.layout is layout
    assert detected.layer == manifest.layers[layer_index]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _manifest("application/vnd.wasm.config.v0+json", ["application/wasm"] * 2),
            "not exactly one application/wasm layer",
        ),
        (
            _manifest("application/vnd.oci.image.config.v1+json", ["application/json"]),
            "is not a wasm plugin artifact (config application/vnd.oci.image.config.v1+json; "
            "layers: application/json)",
        ),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [],
                }
            ).encode(),
            "is an image index",
        ),
    ],
    ids=["cncf-two-layers", "unknown-layer", "index"],
)
def test_detect_layout_refuses(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactInvalid) as error:
        detect_layout(parse_manifest(data, D[15], None, 16))
    assert error.value.reason == "ArtifactInvalid"
    assert message in error.value.message


@pytest.mark.parametrize(
    ("data", "error_type", "message"),
    [
        (b"\xff", ArtifactInvalid, "is not JSON"),
        (b"[]", ArtifactInvalid, "is not a JSON object"),
        (b'{"schemaVersion": 1}', ArtifactInvalid, "schemaVersion 1; only 2"),
        (
            _manifest("x", ["y"], "text/plain"),
            ArtifactInvalid,
            "unsupported media type 'text/plain'",
        ),
        (
            _manifest("x", ["y"] * 3),
            ArtifactTooLarge,
            "manifest.layers lists 3 entries; the cap is 2",
        ),
        (
            json.dumps(
                {"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:1", "size": 1}}
            ).encode(),
            ArtifactInvalid,
            "manifest.config.digest",
        ),
        (
            json.dumps(
                {"schemaVersion": 2, "config": {"mediaType": "x", "digest": D[1], "size": -1}}
            ).encode(),
            ArtifactInvalid,
            "manifest.config.size must be a non-negative integer",
        ),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "config": {
                        "mediaType": "x",
                        "digest": D[1],
                        "size": 1,
                        "annotations": {"a": 1},
                    },
                }
            ).encode(),
            ArtifactInvalid,
            "manifest.config.annotations must map strings to strings",
        ),
    ],
    ids=[
        "binary",
        "array",
        "schema1",
        "media-type",
        "too-many-layers",
        "bad-digest",
        "negative-size",
        "bad-annotations",
    ],
)
def test_parse_manifest_refuses(data: bytes, error_type: type[Exception], message: str) -> None:
    with pytest.raises(error_type) as error:
        parse_manifest(data, D[15], None, 2)
    assert message in str(error.value)
