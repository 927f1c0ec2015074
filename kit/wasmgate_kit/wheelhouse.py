"""The wheels the kit's image build installs from, downloaded on the host beforehand.

The kit builds the project's image with no network (kit/project_image.py), so every wheel the
Containerfile's builder needs must already be in the build context: the project's dependencies
at the versions tools/constraints.txt pins and the build backend pyproject.toml names, as
CPython 3.11 wheels for glibc x86_64 (the image is Debian bookworm, glibc 2.36). pip downloads
them here, where PyPI is reachable, for that platform whatever the host's own.

The directory is named by the hash of what decides its content (the constraints file, the
requirements, the platform), so a warm run downloads nothing.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from wasmgate_kit.buildah import run
from wasmgate_kit.paths import cache_root, made_once

CONSTRAINTS = "tools/constraints.txt"
PYTHON_VERSION = "3.11"
GLIBC_MINOR = 36
"""bookworm's glibc is 2.36: every manylinux wheel up to manylinux_2_36 runs on it."""
# pip takes platform tags literally: the legacy names are separate tags from manylinux_2_x.
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
DOWNLOAD_TIMEOUT = 900


def requirements(pyproject: str) -> list[str]:
    """The project's runtime dependencies and its build backend, as pyproject.toml lists them."""
    data = tomllib.loads(pyproject)
    return [*data["build-system"]["requires"], *data["project"]["dependencies"]]


def download_argv(root: Path, dest: Path) -> list[str]:
    """`pip download` of every wheel the image build needs from checkout `root` into `dest`."""
    return [
        sys.executable, "-m", "pip", "download", "--quiet", f"--dest={dest}",
        f"--constraint={root / CONSTRAINTS}", *_selection(root),
    ]  # fmt: skip


def wheelhouse_key(root: Path) -> str:
    """Hash of what decides the wheelhouse's content: the pins, the requirements, the platform."""
    parts = [(root / CONSTRAINTS).read_text(encoding="utf-8"), *_selection(root)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def wheelhouse(root: Path) -> Path:
    """The directory of wheels for checkout `root`; downloaded unless it exists."""
    return made_once(cache_root() / "wheelhouse" / wheelhouse_key(root), _download(root))


def _download(root: Path) -> Callable[[Path], None]:
    def download(path: Path) -> None:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".download-") as scratch:
            run(download_argv(root, Path(scratch) / "wheels"), timeout=DOWNLOAD_TIMEOUT)
            (Path(scratch) / "wheels").rename(path)

    return download


def _selection(root: Path) -> list[str]:
    platforms = [f"--platform={platform}" for platform in PLATFORMS]
    return [
        "--only-binary=:all:", *platforms, f"--python-version={PYTHON_VERSION}",
        "--implementation=cp", "--abi=cp311", "--abi=abi3", "--abi=none",
        *requirements((root / "pyproject.toml").read_text(encoding="utf-8")),
    ]  # fmt: skip
