"""The real node's control groups: one tree per kit, created before the kubelet and removed after.

The kubelet (cgroupfs driver) refuses a `--cgroup-root` that does not exist in every hierarchy,
and kits running side by side must not share `/kubepods`. So each real node gets `/<name>` in
every mounted hierarchy (this machine mixes cgroup v1 controllers with a v2 `unified` mount),
its pods live below it, and `kill_all` + `remove` empty and delete it at `down`: every process
a pod ran is in this tree, whatever namespaces it entered.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

from wasmgate_kit.wait import wait_for

KILL_TIMEOUT = 30.0


def hierarchies() -> list[Path]:
    """Mount points of every cgroup (v1) and cgroup2 file system this process sees."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" - ", 1)
        if len(fields) == 2 and fields[1].split()[0] in ("cgroup", "cgroup2"):
            found.append(Path(fields[0].split()[4]))
    return found


def create(name: str) -> None:
    for hierarchy in hierarchies():
        path = hierarchy / name
        path.mkdir(exist_ok=True)
        # A new cpuset group starts with no CPUs and no memory nodes; nothing could join it.
        for setting in ("cpuset.cpus", "cpuset.mems"):
            if (path / setting).exists() and not (path / setting).read_text().strip():
                (path / setting).write_text((hierarchy / setting).read_text())


def _groups(name: str) -> list[Path]:
    """Every group of the tree in every hierarchy, deepest first."""
    # os.walk visits every group as its own top and passes over one removed while it walks (a
    # pod's, as the kubelet deletes it); Path.rglob raised FileNotFoundError there.
    groups = [
        Path(top)
        for hierarchy in hierarchies()
        for top, _directories, _files in os.walk(hierarchy / name, onerror=lambda _error: None)
    ]
    return sorted(groups, key=lambda p: len(p.parts), reverse=True)


def members(name: str) -> set[int]:
    pids: set[int] = set()
    for group in _groups(name):
        try:
            pids.update(int(p) for p in (group / "cgroup.procs").read_text().split())
        except OSError:
            continue
    return pids


def kill_until_gone(members: Callable[[], Iterable[int]], what: str) -> None:
    """SIGKILL whatever `members()` lists until it lists nothing (a dying fork may add one)."""

    def gone() -> bool:
        for pid in members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not list(members())

    wait_for(gone, what=f"the processes of {what} to exit", timeout=KILL_TIMEOUT)


def kill_all(name: str) -> None:
    """Kill every process in the tree."""
    kill_until_gone(lambda: members(name), f"cgroup /{name}")


def remove(name: str) -> None:
    """Remove the (empty) tree from every hierarchy."""
    for group in _groups(name):
        with contextlib.suppress(FileNotFoundError):
            group.rmdir()
