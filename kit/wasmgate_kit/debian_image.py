"""Base images assembled here from Debian packages with buildah: no Docker, no registry pull.

The real node can pull from nothing outside the kit, and the project's images need a base. So the
kit resolves a package set with apt against an empty package database (the dependency closure
of, say, `python3.11`, nothing else), downloads those .debs with apt, unpacks them with
`dpkg-deb -x` (no maintainer scripts run), adds the few files a container needs (`/etc/passwd`
with the non-root user 65532, a world-writable `/tmp`), and has buildah commit the tree as a
one-layer image, exported as a docker archive that `ctr images import` names.

The cache key is what apt resolved (file names, sizes and checksums of every .deb), the image's
settings and buildah's version: a warm run resolves (about 2 s), finds the archive and builds
nothing; a security update in Debian changes the key and rebuilds. buildah runs with a throwaway
storage root on the vfs driver, so a build leaves no mount and no image store behind.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasmgate_kit.buildah import buildah_argv, buildah_version, release_storage, run
from wasmgate_kit.errors import KitError
from wasmgate_kit.paths import cache_root, made_once

NON_ROOT_UID = 65532
PYTHON_PACKAGES = ("python3.11",)
PYTHON_REPOSITORY = "wasmgate.kit/debian-python"
# The Containerfile's base: it runs `python -m venv` (ensurepip is Debian's python3.11-venv),
# RUN steps need /bin/sh (dash), the agent's init container runs `chown` (coreutils), and
# manylinux wheels may link libstdc++, a system library to manylinux (frozenlist's extension does).
BUILD_BASE_PACKAGES = ("python3.11", "python3.11-venv", "dash", "coreutils", "libstdc++6")
BUILD_BASE_REPOSITORY = "wasmgate.kit/debian-python-venv"
_PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    f"nonroot:x:{NON_ROOT_UID}:{NON_ROOT_UID}::/tmp:/usr/sbin/nologin\n"
)
_GROUP = f"root:x:0:\nnonroot:x:{NON_ROOT_UID}:\n"


@dataclass(frozen=True)
class DebianImage:
    """An image of `packages` and their dependencies, from this machine's apt sources."""

    repository: str
    packages: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    """(path, target) symlinks to add, e.g. what a package we leave out would have made."""
    env: tuple[str, ...] = ("PATH=/usr/local/bin:/usr/bin:/bin",)

    def archive(self) -> tuple[str, Path]:
        """(reference, docker archive); built unless an archive for the same content exists."""
        resolved = self.resolve()
        key = hashlib.sha256(
            "\n".join([repr(self), buildah_version(), *resolved]).encode()
        ).hexdigest()[:16]
        reference = f"{self.repository}:{key}"
        path = cache_root() / "images" / f"{self.repository.replace('/', '_')}-{key}.tar"
        made_once(path, lambda out: self._build(reference, out, len(resolved)))
        return reference, path

    def resolve(self) -> list[str]:
        """apt's download list for the packages on an empty system: `'url' file size hash`."""
        argv = [*_apt_on_empty_system(), "--print-uris", "install", *self.packages]
        result = run(argv, check=False)
        if result.returncode != 0:
            # A fresh machine has no package lists yet.
            run(["apt-get", "update", "-qq"])
            result = run(argv)
        lines = sorted(line for line in result.stdout.splitlines() if line.startswith("'"))
        if not lines:
            raise KitError(f"apt resolved no packages for {' '.join(self.packages)}")
        return lines

    def _build(self, reference: str, path: Path, expected: int) -> None:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as scratch:
            work = Path(scratch)
            debs, rootfs = work / "debs", work / "rootfs"
            (debs / "partial").mkdir(parents=True)
            run([*_apt_on_empty_system(), f"-o=Dir::Cache::archives={debs}",
                 "--download-only", "install", *self.packages])  # fmt: skip
            downloaded = sorted(debs.glob("*.deb"))
            if len(downloaded) != expected:
                raise KitError(f"apt downloaded {len(downloaded)} .debs, resolved {expected}")
            rootfs.mkdir()
            for deb in downloaded:
                run(["dpkg-deb", "-x", str(deb), str(rootfs)])
            self._add_container_files(rootfs)
            _commit(rootfs, reference, self.env, work / "image.tar", work)
            (work / "image.tar").rename(path)

    def _add_container_files(self, rootfs: Path) -> None:
        etc = rootfs / "etc"
        etc.mkdir(exist_ok=True)
        (etc / "passwd").write_text(_PASSWD)
        (etc / "group").write_text(_GROUP)
        tmp = rootfs / "tmp"
        tmp.mkdir(exist_ok=True)
        tmp.chmod(0o1777)
        for link, target in self.links:
            path = rootfs / link.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target)


def python_base() -> DebianImage:
    """Debian's Python 3.11 (the version the project pins) and nothing else."""
    return DebianImage(
        PYTHON_REPOSITORY, PYTHON_PACKAGES, links=(("/usr/bin/python3", "python3.11"),)
    )


def python_build_base() -> DebianImage:
    """Debian's Python 3.11 with venv, a shell, coreutils, libstdc++: the Containerfile's base."""
    return DebianImage(
        BUILD_BASE_REPOSITORY,
        BUILD_BASE_PACKAGES,
        links=(("/usr/bin/python", "python3.11"),),  # python3-minimal, a dependency, has python3
    )


def _apt_on_empty_system() -> list[str]:
    # An empty status file: apt resolves the full closure, as for an empty root file system.
    empty = cache_root() / "images" / "empty-dpkg-status"
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.touch()
    return [
        "apt-get", "-qq", "-y", "--no-install-recommends",
        f"-o=Dir::State::status={empty}", "-o=Debug::NoLocking=1",
    ]  # fmt: skip


def _commit(rootfs: Path, reference: str, env: tuple[str, ...], out: Path, work: Path) -> None:
    buildah = buildah_argv(work)
    container = run([*buildah, "from", "scratch"]).stdout.strip()
    run([*buildah, "copy", container, f"{rootfs}/", "/"])
    config = [f"--user={NON_ROOT_UID}:{NON_ROOT_UID}", "--workingdir=/tmp"]
    config += [f"--env={e}" for e in env]
    run([*buildah, "config", *config, container])
    run([*buildah, "commit", "--quiet", "--rm", container, f"docker-archive:{out}:{reference}"])
    release_storage(work)
