"""Find the pinned source snapshot of upstream's kube-scheduler-wasm-extension for the kit build.

The module proxy this project reaches refuses upstream's module, so the kit builds upstream's
scheduler (and our harness around its plugin package) against an unmodified source snapshot kept
beside the checkout in ../shared/upstream. A machine without it builds the same commit from a
proxy that serves the module. Either way the build runs in a scratch copy of the tool module whose
`replace` directives name the snapshot by absolute path, or are dropped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from wasmgate_kit.components import UPSTREAM_COMMIT
from wasmgate_kit.errors import KitError

SNAPSHOT_ENV = "WASMGATE_UPSTREAM_SNAPSHOT"
"""Overrides where the snapshot is; default ../shared/upstream/kube-scheduler-wasm-extension."""
MODULE_PREFIX = "sigs.k8s.io/kube-scheduler-wasm-extension/"
# Upstream module -> its directory in the snapshot (scheduler/go.mod replaces proto the same way).
SNAPSHOT_MODULES = {
    MODULE_PREFIX + "scheduler": "scheduler",
    MODULE_PREFIX + "kubernetes/proto": "kubernetes/proto",
}
_COMMIT_LINE = re.compile(r"^Commit:\s*([0-9a-f]{40})", re.MULTILINE)


def find_snapshot(repo: Path) -> Path | None:
    """The snapshot directory, checked to be the pinned commit; None when there is none."""
    configured = os.environ.get(SNAPSHOT_ENV)
    candidate = (
        Path(configured)
        if configured
        else repo.parent / "shared" / "upstream" / "kube-scheduler-wasm-extension"
    )
    if not (candidate / "scheduler" / "go.mod").is_file():
        if configured:
            raise KitError(
                f"{SNAPSHOT_ENV}={configured} holds no scheduler/go.mod; point it at an "
                "unmodified kube-scheduler-wasm-extension source tree or unset it"
            )
        return None
    notes = candidate / "SNAPSHOT.md"
    found = _COMMIT_LINE.search(notes.read_text()) if notes.is_file() else None
    if found is None or found.group(1) != UPSTREAM_COMMIT:
        named = found.group(1) if found else "no commit"
        raise KitError(
            f"{notes} names {named}, the kit pins {UPSTREAM_COMMIT} "
            "(kit/wasmgate_kit/components.py UPSTREAM_COMMIT): use the pinned snapshot, or "
            "move the pin and tools/go/upstream/go.mod together"
        )
    return candidate


def prepare_module(module: Path, scratch: Path, snapshot: Path | None) -> Path:
    """A copy of `module` in `scratch` whose upstream replaces point at `snapshot` (or are gone)."""
    copy = scratch / module.name
    shutil.copytree(module, copy)
    edits = []
    for upstream_module, subdir in SNAPSHOT_MODULES.items():
        if snapshot is None:
            edits.append(f"-dropreplace={upstream_module}")
        else:
            edits.append(f"-replace={upstream_module}={(snapshot / subdir).resolve()}")
    done = subprocess.run(
        ["go", "mod", "edit", *edits], cwd=copy, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise KitError(f"go mod edit in {copy} failed: {done.stderr.strip()}")
    return copy
