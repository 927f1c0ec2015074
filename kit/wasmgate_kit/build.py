"""Build the kit's components once per version and cache them outside the repository.

A component's cache key covers everything that changes its output: the tool module's go.mod and
go.sum, our own sources in it, the packages, the ldflags and the Go toolchain. A finished build is
renamed into place, so a directory under its final name is always complete; a lock serialises
concurrent builds (pytest and `wasmgate-kit up` may race).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wasmgate_kit.components import COMPONENTS, Component, DebComponent, GoComponent, binary_owner
from wasmgate_kit.errors import KitError
from wasmgate_kit.paths import bin_root, cache_root, repo_root
from wasmgate_kit.upstream_snapshot import find_snapshot, prepare_module

BUILD_NICENESS = 10


def _go_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Tool modules are resolved against the proxy, never vendored; the local toolchain is used
    # as it is (no toolchain downloads, which this machine cannot do anyway).
    env.setdefault("GOFLAGS", "-mod=mod")
    env["GOTOOLCHAIN"] = "local"
    env["CGO_ENABLED"] = "0"
    return env


def _go_version() -> str:
    try:
        out = subprocess.run(["go", "version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise KitError("the kit needs Go on PATH (`go version` failed); install Go 1.24+") from e
    return out.stdout.strip()


def _files_under(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.rglob("*") if p.is_file())


def _build_relevant_go_mod_lines(go_mod: str) -> str:
    lines, in_replace = [], False
    for raw in go_mod.splitlines():
        line = raw.strip()
        if line.startswith("replace ("):
            in_replace = True
        elif in_replace and line == ")":
            in_replace = False
        elif in_replace or line.startswith(("replace ", "go ", "toolchain ")):
            lines.append(line)
    return "\n".join(lines)


def cache_key(component: Component, root: Path | None = None) -> str:
    root = root or repo_root()
    digest = hashlib.sha256()
    digest.update(f"{component!r}\n".encode())
    if isinstance(component, GoComponent):
        digest.update(_go_version().encode())
        module = root / component.module_dir
        # go.sum pins every module version; of go.mod only replaces and the go line matter
        # (a requirement moving between direct and indirect must not force a rebuild).
        go_mod = (module / "go.mod").read_text()
        digest.update(_build_relevant_go_mod_lines(go_mod).encode())
        go_sum = module / "go.sum"
        digest.update(go_sum.read_bytes() if go_sum.exists() else b"")
        for source in component.own_sources:
            for path in _files_under(module / source):
                digest.update(str(path.relative_to(module)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def component_dir(component: Component, root: Path | None = None) -> Path:
    return bin_root() / f"{component.name}-{component.version}-{cache_key(component, root)}"


def binary_path(binary: str, root: Path | None = None) -> Path:
    """Path of a built binary; raises KitError naming the build command when it is missing."""
    path = component_dir(binary_owner(binary), root) / binary
    if not path.exists():
        raise KitError(f"{binary} is not built; run `make kit` (or `wasmgate-kit build`)")
    return path


@contextmanager
def _build_lock() -> Iterator[None]:
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(component: Component, argv: list[str], cwd: Path, env: dict[str, str] | None) -> None:
    log = cache_root() / "logs" / f"build-{component.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise KitError(
            f"building kit component {component.name} failed: `{' '.join(argv)}` in {cwd} "
            f"exited {result.returncode}.\n{tail}\nFull log: {log}. "
            f"Retry with `wasmgate-kit build --only {component.name}`."
        )


def _build_go(component: GoComponent, target: Path, root: Path) -> None:
    module = root / component.module_dir
    env = _go_environment()
    if component.from_upstream_snapshot:
        scratch = Path(tempfile.mkdtemp(prefix=".upstream-module.", dir=target))
        snapshot = find_snapshot(root)
        module = prepare_module(module, scratch, snapshot)
        if snapshot is not None:
            # go.sum pins every dependency of the snapshot: the build must not rewrite it.
            env["GOFLAGS"] = "-mod=readonly"
    for binary, package in component.packages.items():
        # Niced: the kit builds on shared 2-core machines next to tests that time things.
        argv = ["nice", "-n", str(BUILD_NICENESS), "go", "build", "-ldflags", component.ldflags]
        argv += ["-o", str(target / binary)]
        _run(component, [*argv, package], module, env)
    if component.from_upstream_snapshot:
        shutil.rmtree(module.parent)


def _build_deb(component: DebComponent, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=cache_root()) as scratch:
        spec = f"{component.package}={component.version}"
        download = ["apt-get", "download", spec]
        try:
            _run(component, download, Path(scratch), None)
        except KitError:
            # A fresh machine has no package lists yet.
            _run(component, ["apt-get", "update"], Path(scratch), None)
            _run(component, download, Path(scratch), None)
        deb = next(Path(scratch).glob("*.deb"))
        extracted = Path(scratch) / "root"
        # dpkg-deb -x unpacks files only: no maintainer scripts run, no service starts.
        _run(component, ["dpkg-deb", "-x", str(deb), str(extracted)], Path(scratch), None)
        for binary, inner in component.binaries.items():
            shutil.copy2(extracted / inner, target / binary)


def build(component: Component, root: Path | None = None, say: bool = True) -> Path:
    """Build `component` unless cached; return its directory."""
    root = root or repo_root()
    final = component_dir(component, root)
    if final.exists():
        if say:
            _say(f"kit: {component.name} {component.version} cached ({final.name})")
        return final
    with _build_lock():
        if final.exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        _say(f"kit: building {component.name} {component.version} ...")
        started = time.monotonic()
        target = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            if isinstance(component, GoComponent):
                _build_go(component, target, root)
            else:
                _build_deb(component, target)
            target.rename(final)
        finally:
            shutil.rmtree(target, ignore_errors=True)
        _prune_superseded(component, final)
        _say(f"kit: built {component.name} in {time.monotonic() - started:.0f}s")
    return final


def _prune_superseded(component: Component, keep: Path) -> None:
    """Remove builds of this component under older keys: only the pinned one is ever used."""
    for stale in keep.parent.glob(f"{component.name}-{component.version}-*"):
        if stale != keep and stale.is_dir() and not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)


def build_all(only: list[str] | None = None, root: Path | None = None) -> dict[str, Path]:
    started = time.monotonic()
    built = {c.name: build(c, root) for c in COMPONENTS if not only or c.name in only}
    _say(f"kit: all components ready in {time.monotonic() - started:.0f}s")
    return built


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
