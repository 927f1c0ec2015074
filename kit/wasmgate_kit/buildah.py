"""buildah, driven the one way the kit drives it: a throwaway storage root on the vfs driver.

The kit's images (kit/debian_image.py, kit/project_image.py) are built as root on a machine with
no container engine running: each build gets its own `--root`/`--runroot` inside its scratch
directory, and vfs keeps plain directories, so a build leaves no mount and no image store behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from wasmgate_kit.errors import KitError

COMMAND_TIMEOUT = 600
"""Seconds one command (apt, dpkg-deb, one buildah step) may take."""


def buildah_argv(work: Path) -> list[str]:
    """The argv prefix of buildah with its storage inside `work`."""
    return ["buildah", f"--root={work / 'storage'}", f"--runroot={work / 'run'}",
            "--storage-driver=vfs"]  # fmt: skip


def buildah_version() -> str:
    """`buildah --version`, part of every image's cache key."""
    if shutil.which("buildah") is None:
        raise KitError("the kit builds images with buildah; install it (`make apt`)")
    return run(["buildah", "--version"]).stdout.strip()


def release_storage(work: Path) -> None:
    """Make the vfs storage in `work` removable: vfs keeps some directories read-only."""
    run(["chmod", "-R", "u+w", str(work / "storage")], check=False)


def run(
    argv: list[str], check: bool = True, timeout: int = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `argv` non-interactively; a failure raises KitError with its stderr."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise KitError(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr.strip()}")
    return result
