"""The project's images as the rest of the kit uses them: built here, cached, pushed on demand.

The real node pulls only from the kit's registries, so the images a user would pull from ghcr.io
or build in CI come from here: wasmgate's own image, built from the Containerfile
(kit/project_image.py), and upstream's kube-scheduler-wasm-extension, the static binary the kit
builds from upstream's source wrapped as a one-layer image (kit/images.py). Both are tagged with
their content hash, so a reference never names two different images.
"""

from __future__ import annotations

from pathlib import Path

from wasmgate_kit.build import binary_path
from wasmgate_kit.components import UPSTREAM_SCHEDULER_BINARY
from wasmgate_kit.image_push import push_archive
from wasmgate_kit.images import StaticImage
from wasmgate_kit.project_image import project_image
from wasmgate_kit.registries import Registry

WASMGATE = "wasmgate"
UPSTREAM_SCHEDULER = UPSTREAM_SCHEDULER_BINARY
UPSTREAM_SCHEDULER_REPOSITORY = f"wasmgate.kit/{UPSTREAM_SCHEDULER_BINARY}"
REGISTRY_NAMESPACE = "kit"
"""Repositories in a kit registry are `kit/<image name>`."""


def wasmgate_image() -> tuple[str, Path]:
    """(local reference, docker archive) of the wasmgate image; built unless cached."""
    return project_image()


def upstream_scheduler_image() -> tuple[str, Path]:
    """(local reference, OCI archive) of upstream's scheduler as `/kube-scheduler-wasm-extension`.

    The binary must be built (`make kit`); its entrypoint runs as UID 65532.
    """
    return StaticImage(
        UPSTREAM_SCHEDULER_REPOSITORY, binary_path(UPSTREAM_SCHEDULER_BINARY)
    ).archive()


def push_kit_images(registry: Registry) -> dict[str, str]:
    """Push both images to `registry`; {image name: registry reference}, tags as built."""
    images = {WASMGATE: wasmgate_image(), UPSTREAM_SCHEDULER: upstream_scheduler_image()}
    pushed = {}
    for name, (local, archive) in images.items():
        tag = local.rsplit(":", 1)[1]
        pushed[name] = push_archive(archive, registry, f"{REGISTRY_NAMESPACE}/{name}", tag)
    return pushed
