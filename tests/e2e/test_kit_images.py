"""The kit's images, built here with no network: they start, as the user and with the entrypoint
the manifests expect, and reach a registry the way a user's CI pushes them.

The wasmgate image is built from the Containerfile (offline, on the kit's Debian base) and run
with buildah in a throwaway store: every subcommand the manifests run answers `--help`, wasmtime
loads its bundled library, and every native library in the environment links. Upstream's
scheduler image is the kit's static build of it. Both are pushed to a kit registry with auth,
each in its own archive format, and read back from there.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wasmgate_kit.build import binary_path, build
from wasmgate_kit.buildah import buildah_argv, release_storage
from wasmgate_kit.components import binary_owner, component_named
from wasmgate_kit.debian_image import NON_ROOT_UID
from wasmgate_kit.kit_images import (
    UPSTREAM_SCHEDULER,
    WASMGATE,
    push_kit_images,
    upstream_scheduler_image,
    wasmgate_image,
)
from wasmgate_kit.registries import Registry, start_registries

pytestmark = pytest.mark.e2e
NON_ROOT = f"{NON_ROOT_UID}:{NON_ROOT_UID}"
ENTRYPOINT = "/opt/wasmgate/bin/wasmgate"
SCHEDULER_ENTRYPOINT = f"/{UPSTREAM_SCHEDULER}"
# Every shared object in the environment, loaded: a missing Debian library fails here, not in a
# pod (frozenlist's extension needs libstdc++, and falls back silently without it).
LOAD_EVERY_LIBRARY = """
import ctypes, pathlib
libraries = sorted(pathlib.Path("/opt/wasmgate/lib").rglob("*.so*"))
for library in libraries:
    ctypes.CDLL(str(library))
import wasmtime
wasmtime.Engine()
print(f"loaded {len(libraries)} libraries")
"""


class Store:
    """A throwaway buildah store holding one image, to run commands in its containers."""

    def __init__(self, work: Path, transport: str, archive: Path) -> None:
        self.buildah = buildah_argv(work)
        pulled = self.run("pull", "--quiet", f"{transport}:{archive}").stdout.split()[-1]
        self.container = self.run("from", "--quiet", pulled).stdout.strip()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.buildah, *args], capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def in_container(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`argv` in the container, as the image's user; no network."""
        return self.run("run", "--isolation=chroot", self.container, "--", *argv, check=False)


@pytest.fixture(scope="module")
def wasmgate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    _, archive = wasmgate_image()
    work = tmp_path_factory.mktemp("wasmgate-store")
    yield Store(work, "docker-archive", archive)
    release_storage(work)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The kit's distribution registry with basic auth, started alone."""
    for name in ("docker-registry", "ociregistry"):
        build(binary_owner(name), say=False)
    registries, processes = start_registries(tmp_path_factory.mktemp("registries"), binary_path)
    try:
        yield registries["distribution-auth"]
    finally:
        for process in processes:
            process.stop()


def _docker_archive_config(archive: Path) -> dict[str, Any]:
    def member(name: str) -> Any:
        with tarfile.open(archive) as tar:
            file = tar.extractfile(name)
            assert file is not None, name
            return json.load(file)

    (manifest,) = member("manifest.json")
    config: dict[str, Any] = member(manifest["Config"])
    return config


def test_the_wasmgate_image_runs_wasmgate_as_the_manifests_user() -> None:
    reference, archive = wasmgate_image()
    config = _docker_archive_config(archive)["config"]
    assert config["Entrypoint"] == [ENTRYPOINT]
    assert config["User"] == NON_ROOT
    assert {"HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1"} <= set(config["Env"]), config["Env"]
    assert wasmgate_image() == (reference, archive), "a warm call builds the same archive"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([ENTRYPOINT, "--help"], id="wasmgate"),
        pytest.param(["wasmgate", "agent", "--help"], id="agent"),
        pytest.param(["wasmgate", "verify-store", "--help"], id="verify-store"),
        pytest.param(["wasmgate", "run", "--help"], id="run"),
    ],
)
def test_each_subcommand_of_the_manifests_answers_in_the_image(
    wasmgate: Store, argv: list[str]
) -> None:
    result = wasmgate.in_container(*argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: wasmgate"), result.stdout


def test_the_image_runs_as_uid_65532_and_cannot_write_its_environment(wasmgate: Store) -> None:
    assert wasmgate.in_container("id", "-u").stdout.strip() == str(NON_ROOT_UID)
    result = wasmgate.in_container("touch", "/opt/wasmgate/written")
    assert result.returncode != 0 and "Permission denied" in result.stderr, result


def test_every_native_library_links_and_wasmtime_starts(wasmgate: Store) -> None:
    result = wasmgate.in_container("python", "-c", LOAD_EVERY_LIBRARY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loaded "), result.stdout


def test_the_upstream_scheduler_image_runs_its_binary_as_65532(tmp_path: Path) -> None:
    build(component_named("upstream-scheduler"), say=False)
    _, archive = upstream_scheduler_image()
    store = Store(tmp_path, "oci-archive", archive)
    try:
        config = json.loads(store.run("inspect", "--type=container", store.container).stdout)
        assert config["Docker"]["config"]["Entrypoint"] == [SCHEDULER_ENTRYPOINT]
        assert config["Docker"]["config"]["User"] == NON_ROOT
        # Upstream's main parses only --config, and pflag exits 2 after printing the usage.
        result = store.in_container(SCHEDULER_ENTRYPOINT, "--help")
        assert result.returncode == 2 and "--config string" in result.stderr, result.stderr
    finally:
        release_storage(tmp_path)


def test_both_images_are_pushed_to_a_registry_with_auth(registry: Registry) -> None:
    build(component_named("upstream-scheduler"), say=False)
    pushed = push_kit_images(registry)
    assert sorted(pushed) == sorted([WASMGATE, UPSTREAM_SCHEDULER])
    entrypoints = {WASMGATE: [ENTRYPOINT], UPSTREAM_SCHEDULER: [SCHEDULER_ENTRYPOINT]}
    for name, reference in pushed.items():
        assert reference.startswith(f"{registry.host}/kit/{name}:"), reference
        result = subprocess.run(
            ["skopeo", "inspect", "--config", "--tls-verify=false",
             f"--creds={registry.username}:{registry.password}", f"docker://{reference}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        config = json.loads(result.stdout)["config"]
        assert (config["Entrypoint"], config["User"]) == (entrypoints[name], NON_ROOT), config
