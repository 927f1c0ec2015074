"""The project's own image, built from its Containerfile by the kit with no registry and no network.

A user builds the Containerfile with podman or docker against a registry; the kit builds the same
file with buildah, offline: the base is the Debian image the kit assembles
(`debian_image.python_build_base()`, passed as PYTHON_IMAGE), and the Python dependencies come
from a wheelhouse downloaded on the host beforehand (kit/wheelhouse.py), staged into the build
context as tools/wheelhouse. The context is a temporary directory holding only what the
Containerfile copies, never the checkout itself.

RUN steps run with chroot isolation in an empty network namespace, in a throwaway vfs storage root
(kit/buildah.py). The result is a docker archive under the kit cache named by the hash of every
staged file, the base image's reference (itself a content hash), buildah's version and the
Containerfile: a warm call hashes the sources and builds nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from wasmgate_kit.buildah import buildah_argv, buildah_version, release_storage, run
from wasmgate_kit.debian_image import python_build_base
from wasmgate_kit.paths import cache_root, made_once, repo_root
from wasmgate_kit.wheelhouse import wheelhouse

REPOSITORY = "wasmgate.kit/wasmgate"
ARCHIVE_PREFIX = f"{REPOSITORY.replace('/', '_')}-"
CONTAINERFILE = "Containerfile"
CONTEXT_FILES = (CONTAINERFILE, "pyproject.toml", "README.md", "tools/constraints.txt")
CONTEXT_TREES = ("operator", "webhooks")
WHEELHOUSE = "tools/wheelhouse"
WHEELHOUSE_IN_BUILD = f"/src/{WHEELHOUSE}"
"""Where the builder stage (WORKDIR /src) sees the staged wheelhouse."""
BUILD_TIMEOUT = 1800
"""Seconds the whole `buildah bud` may take; a cold build on two cores takes a few minutes."""
# What a checkout holds next to the sources but never goes into an image.
_SKIPPED_DIRECTORIES = ("__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache")
_SKIPPED_SUFFIXES = (".pyc", ".egg-info")


def context_files(root: Path, wheels: Path) -> dict[str, Path]:
    """{path in the build context: file it is copied from}, sorted by context path."""
    files = {name: root / name for name in CONTEXT_FILES}
    for tree in CONTEXT_TREES:
        for path in (root / tree).rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not _skipped(relative):
                files[relative.as_posix()] = path
    for wheel in wheels.glob("*.whl"):
        files[f"{WHEELHOUSE}/{wheel.name}"] = wheel
    return dict(sorted(files.items()))


def image_key(files: dict[str, Path], base_reference: str, buildah: str) -> str:
    """Hash of the context's paths, contents and exec bits, the base and buildah's version."""
    digest = hashlib.sha256(f"{base_reference}\n{buildah}\n".encode())
    for name, path in sorted(files.items()):
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        executable = path.stat().st_mode & 0o111 != 0
        digest.update(f"{name}\0{content}\0{executable}\n".encode())
    return digest.hexdigest()[:16]


def stage_context(files: dict[str, Path], context: Path) -> None:
    """Copy `files` into the empty directory `context`, the wheelhouse directory always there."""
    (context / WHEELHOUSE).mkdir(parents=True)
    for name, path in files.items():
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def project_image(root: Path | None = None) -> tuple[str, Path]:
    """(reference, docker archive) of the Containerfile built from checkout `root`."""
    root = root or repo_root()
    base_reference, base_archive = python_build_base().archive()
    files = context_files(root, wheelhouse(root))
    key = image_key(files, base_reference, buildah_version())
    reference = f"{REPOSITORY}:{key}"
    path = cache_root() / "images" / f"{ARCHIVE_PREFIX}{key}.tar"
    made_once(path, lambda out: _build(files, base_reference, base_archive, reference, out))
    return reference, path


def _build(
    files: dict[str, Path], base_reference: str, base_archive: Path, reference: str, path: Path
) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as scratch:
        work = Path(scratch)
        context = work / "context"
        stage_context(files, context)
        buildah = buildah_argv(work)
        try:
            # The base goes into the throwaway store under its own name; the build pulls nothing.
            run([*buildah, "pull", "--quiet", f"docker-archive:{base_archive}"])
            # buildah refuses --network=none with chroot isolation; an empty network namespace
            # around the whole build gives the same guarantee: nothing can be fetched.
            run(["unshare", "--net", *buildah, "bud", "--quiet", "--isolation=chroot",
                 "--pull=never", "--layers=false", "--format=docker",
                 f"--build-arg=PYTHON_IMAGE={base_reference}",
                 f"--build-arg=WHEELHOUSE={WHEELHOUSE_IN_BUILD}",
                 f"--file={context / CONTAINERFILE}", f"--tag={reference}", str(context)],
                timeout=BUILD_TIMEOUT)  # fmt: skip
            out = work / "image.tar"
            run([*buildah, "push", "--quiet", reference, f"docker-archive:{out}:{reference}"])
            out.rename(path)
        finally:
            release_storage(work)
    # Each edit of the product's sources makes a new ~340 MB archive (the kit itself is not in
    # the context): keep only the newest. A process still reading an old one keeps its open file.
    for superseded in path.parent.glob(f"{ARCHIVE_PREFIX}*.tar"):
        if superseded != path:
            superseded.unlink(missing_ok=True)


def _skipped(relative: Path) -> bool:
    return any(
        part in _SKIPPED_DIRECTORIES or part.endswith(_SKIPPED_SUFFIXES) for part in relative.parts
    )
