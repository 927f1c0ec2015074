"""Decide which of the three accepted wasm artifact layouts a manifest is.

1. CNCF wasm artifact: config `application/vnd.wasm.config.v0+json`, one `application/wasm` layer.
2. A single-layer artifact pushed with oras, including the older wasm layer media types.
3. The "compat" image Istio accepts: an image whose last layer is a tar(.gz) with `plugin.wasm`.
Anything else is refused with a message that says what we found and what we expected.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wasmgate.errors import ArtifactInvalid
from wasmgate.oci.manifest import Descriptor, Manifest

WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"
ORAS_WASM_LAYERS = frozenset(
    {
        WASM_LAYER,
        "application/vnd.wasm.content.layer.v1+wasm",
        "application/vnd.module.wasm.content.layer.v1+wasm",
    }
)
TAR_LAYERS = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    }
)
IMAGE_CONFIGS = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
COMPAT_MEMBER = "plugin.wasm"


class Layout(enum.StrEnum):
    """Which accepted layout an artifact has; recorded in status."""

    CNCF = "cncf-wasm"
    ORAS = "oras-single-layer"
    COMPAT = "compat-image"


@dataclass(frozen=True)
class Detected:
    """The layout and the layer that holds (or, for compat, contains) the module."""

    layout: Layout
    layer: Descriptor


def _summary(manifest: Manifest) -> str:
    config = manifest.config.media_type if manifest.config else "none"
    layers = ", ".join(layer.media_type for layer in manifest.layers) or "none"
    return f"config {config}; layers: {layers}"


def detect_layout(manifest: Manifest) -> Detected:
    """Classify a (non-index) manifest, or raise ArtifactInvalid saying why it is none of them."""
    if manifest.is_index:
        raise ArtifactInvalid(
            f"{manifest.digest} is an image index, not a single artifact; reference the digest "
            "of the wasm manifest inside it"
        )
    layers = manifest.layers
    config_type = manifest.config.media_type if manifest.config else ""
    if config_type == WASM_CONFIG:
        wasm = [layer for layer in layers if layer.media_type == WASM_LAYER]
        if len(layers) != 1 or len(wasm) != 1:
            raise ArtifactInvalid(
                f"{manifest.digest} has the wasm config but not exactly one {WASM_LAYER} layer "
                f"({_summary(manifest)})"
            )
        return Detected(Layout.CNCF, wasm[0])
    if len(layers) == 1 and layers[0].media_type in ORAS_WASM_LAYERS:
        return Detected(Layout.ORAS, layers[0])
    if config_type in IMAGE_CONFIGS and layers and layers[-1].media_type in TAR_LAYERS:
        return Detected(Layout.COMPAT, layers[-1])
    raise ArtifactInvalid(
        f"{manifest.digest} is not a wasm plugin artifact ({_summary(manifest)}); push it with "
        f"`wasmgate push`, as one {WASM_LAYER} layer with oras, or as an image whose last layer "
        f"holds {COMPAT_MEMBER}"
    )
