"""Where the kit keeps what outlives one run: built binaries (by version) and dev state.

Everything lives outside the repository so a fresh clone reuses what an earlier run built.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/wasmgate`: binaries built by version, downloads."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasmgate"


def bin_root() -> Path:
    return cache_root() / "bin"


def default_state_dir() -> Path:
    """State of the kit `wasmgate-kit up` runs: certificates, data, logs, kit.json."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wasmgate" / "kit"


def repo_root() -> Path:
    """The checkout this package was installed from (editable installs only)."""
    return Path(__file__).resolve().parents[2]


def made_once(path: Path, make: Callable[[Path], None]) -> Path:
    """`path`, made by `make(path)` unless it exists: content-named cache entries are never
    remade, and a lock in their directory keeps two processes from making one at once."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            make(path)
    return path
