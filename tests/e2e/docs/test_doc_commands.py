"""Every command README.md and docs/ show in a ```bash, ```sh or ```console block runs on the kit.

Each Markdown file is one case. Its runnable blocks run in order as one bash script
(`set -euo pipefail`), so a later block may use the files and variables of an earlier one, as a
reader's shell would. The script runs in a scratch directory that links the checkout's top-level
entries (so `deploy/`, `.venv/bin/wasmgate` and `tests/assets/` resolve) while the files the docs
create (keys, modules) stay out of the repository.

The environment is what `wasmgate-kit up` gives a reader: the session kit with the operator and
one agent per node running, kubectl, cosign, oras, helm and `.venv/bin` on PATH, and `wasmgate
dev env` answering for the session kit. For that, XDG_STATE_HOME points at a state directory
that describes the session kit exactly as `wasmgate-kit up` describes its own (kit.json, and the
pid of the process that owns the kit: this pytest process). Files that need the kit's private
sigstore (keyless signing) get it started and listed there too, as `dev up --sigstore` does.
Files that follow `wasmgate-kit up --install` (NEEDS_INSTALL) run on a kit of this module's own
as that command leaves it: a real node with wasmgate installed on it as pods.

A command a test cannot run is listed in EXCLUDED with the reason and the test that runs it (or
what it does) instead; it is replaced by an `echo` of that reason in the script. A listing that
matches no command, or names a test that does not exist, fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.doc_blocks import (
    BLOCK_MARKER,
    Command,
    Script,
    build_script,
    commands,
    fenced_blocks,
)
from support.kit import KitHandle
from wasmgate_kit.build import binary_path
from wasmgate_kit.install import install_wasmgate
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.supervisor import PID_FILE, SupervisedKit
from wasmgate_kit.system import start_wasmgate

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
SCRIPT_TIMEOUT = 600.0
OUTPUT_TAIL = 80
KIT_TOOLS = ("kubectl", "cosign", "oras", "helm")
# Files whose commands sign keylessly against the kit's private sigstore (`dev up --sigstore`).
NEEDS_SIGSTORE = frozenset({"docs/plugin-authors.md"})
# Files that follow `wasmgate-kit up --install`: wasmgate runs as pods on the kit's real node.
NEEDS_INSTALL = frozenset({"docs/quickstart.md"})
# Where a language tag is a choice: code that is shown, not run.
SHOWN_LANGUAGES = frozenset(
    {"text", "yaml", "json", "python", "go", "c", "wat", "mermaid", "dockerfile", "toml"}
)
_FAILED = re.compile(r"^### failed at script line (\d+) \(exit (\d+)\)$", re.MULTILINE)


@dataclass(frozen=True)
class Excluded:
    """Why a command cannot run inside this test, and what runs it instead."""

    reason: str
    covered_by: str  # "path::test_or_fixture" or a path (CI entry point)


_SECOND_KIT = "starts a second kit (about a minute, fifteen processes) next to the session kit"
_DEV_CLI = "tests/e2e/test_dev_cli.py::test_dev_up_twice_then_down_leaves_no_process"
_DEMO_TEST = "test_make_demo_twice_ends_with_the_ready_plugin_and_pod_node"
_DEMO = f"tests/e2e/docs/test_make_demo.py::{_DEMO_TEST}"
_STOPS_KIT = "would stop the kit this test runs against"
_SUITE = "runs the test suite (or its lint gate) from inside the test suite"
_MAKE_KIT = (
    "make's venv prerequisite may reinstall the shared .venv; the recipe is "
    "`wasmgate-kit build`, which the session kit fixture runs and docs/kit.md's "
    "`wasmgate-kit build --only cosign` runs here"
)

EXCLUDED: dict[tuple[str, str], Excluded] = {
    ("README.md", "make demo"): Excluded(_SECOND_KIT + ", then the whole demo", _DEMO),
    ("README.md", "make test"): Excluded(_SUITE, ".ci/run"),
    ("README.md", "make kit"): Excluded(_MAKE_KIT, "tests/conftest.py::kit_session"),
    ("README.md", ".venv/bin/wasmgate-kit up"): Excluded(_SECOND_KIT, _DEV_CLI),
    ("README.md", ".venv/bin/wasmgate-kit down"): Excluded(_STOPS_KIT, _DEV_CLI),
    ("README.md", "make lint typecheck"): Excluded(_SUITE, ".ci/run"),
    ("README.md", "make unit"): Excluded(_SUITE, ".ci/run"),
    ("README.md", "make e2e"): Excluded(_SUITE, ".ci/run"),
    ("README.md", "make crds"): Excluded(
        "rewrites crds/ and docs/reference/api.md in the checkout",
        "tests/unit/api/test_crd_files.py::test_committed_crd_is_current",
    ),
    ("docs/kit.md", "make kit"): Excluded(_MAKE_KIT, "tests/conftest.py::kit_session"),
    ("docs/kit.md", ".venv/bin/wasmgate-kit up"): Excluded(_SECOND_KIT, _DEV_CLI),
    ("docs/kit.md", ".venv/bin/wasmgate-kit down"): Excluded(_STOPS_KIT, _DEV_CLI),
    ("docs/kit.md", ".venv/bin/wasmgate-kit up --real-node"): Excluded(
        _SECOND_KIT + ", with a real node (kubelet, containerd)",
        "tests/e2e/test_real_node.py::test_dev_up_real_node_runs_a_pod_and_down_leaves_nothing",
    ),
    ("docs/kit.md", ".venv/bin/wasmgate-kit up --install"): Excluded(
        _SECOND_KIT + ", with a real node and wasmgate installed on it as pods", _DEMO
    ),
    ("docs/quickstart.md", "make demo"): Excluded(_SECOND_KIT + ", then the whole demo", _DEMO),
    ("docs/quickstart.md", "wasmgate-kit up --install"): Excluded(_SECOND_KIT, _DEMO),
    ("docs/quickstart.md", "wasmgate-kit down"): Excluded(_STOPS_KIT, _DEMO),
}


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _runnable_files() -> list[Path]:
    return [path for path in DOCS if any(b.runnable for b in fenced_blocks(path))]


def _skip_reason(path: Path, command: Command) -> str | None:
    excluded = EXCLUDED.get((_relative(path), command.key))
    return excluded.reason if excluded else None


# --- what the docs must look like (no kit) ---


def test_every_fence_names_its_language() -> None:
    """An unlabelled fence could hide a command from this test; each block says run or show."""
    blocks = [block for path in DOCS for block in fenced_blocks(path)]
    unlabelled = [f"{_relative(b.path)}:{b.line}" for b in blocks if not b.language]
    unknown = [
        f"{_relative(b.path)}:{b.line} ```{b.language}"
        for b in blocks
        if b.language and not b.runnable and b.language not in SHOWN_LANGUAGES
    ]
    assert unlabelled == [], (
        "fences without a language (use bash/sh/console for commands a test runs, text or yaml "
        f"for what is only shown): {unlabelled}"
    )
    assert unknown == [], f"unexpected fence languages: {unknown}"


def test_every_exclusion_names_a_shown_command_and_an_existing_test() -> None:
    shown = {
        (_relative(path), command.key)
        for path in DOCS
        for block in fenced_blocks(path)
        if block.runnable
        for command in commands(block)
    }
    stale = sorted(key for key in EXCLUDED if key not in shown)
    assert stale == [], f"EXCLUDED lists commands no doc shows any more: {stale}"
    for key, excluded in EXCLUDED.items():
        file, _, name = excluded.covered_by.partition("::")
        covering = ROOT / file
        assert covering.is_file(), f"{key}: covering file {file} does not exist"
        if name:
            assert re.search(rf"^def {re.escape(name)}\(", covering.read_text(), re.MULTILINE), (
                f"{key}: {file} has no function {name}"
            )


# --- running them (the kit) ---


@pytest.fixture(scope="module")
def wasmgate_on_kit(kit_session: KitHandle) -> Iterator[list[ManagedProcess]]:
    """What `wasmgate-kit up` adds to a kit: CRDs, the operator and one agent per node."""
    processes = start_wasmgate(kit_session.kit)
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture(scope="module")
def installed_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitHandle]:
    """A kit as `wasmgate-kit up --install` leaves it: a real node, wasmgate on it as pods."""
    kit = SupervisedKit(state_dir=tmp_path_factory.mktemp("installed-kit"), real_node=True)
    kit.start()
    try:
        kit.installed = install_wasmgate(kit)
        yield KitHandle(kit)
    finally:
        kit.stop()


def _scratch(tmp_path: Path) -> Path:
    """A directory that looks like the checkout (links to its entries) but is not it."""
    work = tmp_path / "checkout"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name == ".venv" or not entry.name.startswith("."):
            (work / entry.name).symlink_to(entry)
    return work


def _state_home(tmp_path: Path, kit: KitHandle, sigstore: dict[str, Any] | None) -> Path:
    """XDG_STATE_HOME under which `wasmgate-kit env|status` find the session kit."""
    home = tmp_path / "state"
    state_dir = home / "wasmgate" / "kit"
    state_dir.mkdir(parents=True)
    state = {**kit.kit.state(), "sigstore": sigstore}
    (state_dir / "kit.json").write_text(json.dumps(state, indent=2))
    (state_dir / PID_FILE).write_text(str(os.getpid()))
    return home


def _environment(tmp_path: Path, kit: KitHandle, sigstore: dict[str, Any] | None) -> dict[str, str]:
    tools = [str(binary_path(tool).parent) for tool in KIT_TOOLS]
    path = [*dict.fromkeys(tools), str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")]
    env = {key: value for key, value in os.environ.items() if not key.startswith("WASMGATE_")}
    temporary = tmp_path / "tmp"  # `mktemp -d` in the docs lands here, not in /tmp
    temporary.mkdir()
    env.update(
        PATH=os.pathsep.join(path),
        KUBECONFIG=str(kit.kubeconfig),
        XDG_STATE_HOME=str(_state_home(tmp_path, kit, sigstore)),
        TMPDIR=str(temporary),
    )
    return env


def _names(kit: KitHandle, kind: str, *scope: str) -> set[str]:
    listed = kit.kubectl("get", kind, *scope, "-o", "name").stdout
    return set(listed.split())


def _clean_up(kit: KitHandle, before: dict[str, set[str]]) -> None:
    """Delete what a doc created and did not delete itself (plugins before their schedulers)."""
    for kind, scope in (("wasmplugins", ()), ("wasmschedulers", ()), ("pods", ("-n", "default"))):
        left = sorted(_names(kit, kind, *scope) - before[kind])
        if left:
            kit.kubectl("delete", *scope, *left, "--wait=true", "--timeout=60s", check=False)


def _diagnostics(kit: KitHandle, processes: list[ManagedProcess]) -> str:
    """What wasmgate's objects and the operator looked like when a doc's command failed."""
    conditions = (
        "jsonpath={range .items[*]}{.kind}/{.metadata.name}: {.status.phase}"
        '{range .status.conditions[*]} {.type}={.status}({.reason}: {.message}){end}{"\\n"}{end}'
    )
    shown = kit.kubectl("get", "wasmplugins,wasmschedulers", "-o", conditions, check=False)
    logs = [f"--- {p.name} log ---\n{p.log_tail()}" for p in processes[:1]]
    if not processes:  # installed as pods
        pods = kit.kubectl("logs", "-n", "wasmgate-system", "deployment/wasmgate-operator",
                           "--tail=40", check=False)  # fmt: skip
        logs.append(f"--- operator pod log ---\n{pods.stdout}{pods.stderr}")
    return "\n".join(["--- wasmplugins and wasmschedulers ---", shown.stdout, shown.stderr, *logs])


def _failure(
    path: Path, script: Script, result: subprocess.CompletedProcess[str], elapsed: float
) -> str:
    output = result.stdout
    failed = _FAILED.findall(output)
    line = script.doc_line(int(failed[-1][0])) if failed else 0
    markers = [m for m in output.splitlines() if m.startswith(BLOCK_MARKER)]
    block = markers[-1].removeprefix(BLOCK_MARKER).strip() if markers else "before any block"
    shown = next(
        (
            command.text
            for candidate in fenced_blocks(path)
            if candidate.runnable
            for command in commands(candidate)
            if command.line <= line < command.line + len(command.text.splitlines())
        ),
        "",
    )
    tail = "\n".join(output.splitlines()[-OUTPUT_TAIL:])
    return (
        f"{_relative(path)}:{line} (block {block}) exited {result.returncode} after "
        f"{elapsed:.0f}s\ncommand:\n{shown}\n--- output (last {OUTPUT_TAIL} lines) ---\n{tail}"
    )


@pytest.mark.parametrize("path", _runnable_files(), ids=_relative)
def test_doc_commands_run(
    path: Path,
    kit: KitHandle,
    wasmgate_on_kit: list[ManagedProcess],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    sigstore = None
    if _relative(path) in NEEDS_SIGSTORE:
        sigstore = request.getfixturevalue("sigstore").to_dict()
    processes = wasmgate_on_kit
    if _relative(path) in NEEDS_INSTALL:
        kit, processes = request.getfixturevalue("installed_kit"), []
    blocks = fenced_blocks(path)
    preamble = [
        "set -Eeuo pipefail",
        "trap 'echo \"### failed at script line $LINENO (exit $?)\"' ERR",
    ]
    script = build_script(blocks, lambda command: _skip_reason(path, command), preamble)
    (tmp_path / "doc.sh").write_text(script.text)
    env = _environment(tmp_path, kit, sigstore)
    before = {
        "wasmplugins": _names(kit, "wasmplugins"),
        "wasmschedulers": _names(kit, "wasmschedulers"),
        "pods": _names(kit, "pods", "-n", "default"),
    }
    started = time.monotonic()
    diagnostics = ""
    try:
        result = subprocess.run(
            ["bash", str(tmp_path / "doc.sh")],
            cwd=_scratch(tmp_path),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            diagnostics = _diagnostics(kit, processes)
    finally:
        _clean_up(kit, before)
    print(f"{_relative(path)}: {elapsed:.1f}s")
    for process in wasmgate_on_kit:
        process.check_alive()
    assert result.returncode == 0, _failure(path, script, result, elapsed) + "\n" + diagnostics
    ran = result.stdout.count(BLOCK_MARKER)
    assert ran == sum(b.runnable for b in blocks), result.stdout
