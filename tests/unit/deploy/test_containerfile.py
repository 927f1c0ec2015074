"""The Containerfile's structure, checked as text (tests/e2e/test_kit_images.py builds and runs it).

What matters for the manifests: a builder stage and a slim runtime stage, a non-root numeric
USER equal to the UID the manifests run as, nothing fetched by URL, Python told not to write
bytecode and HOME pointed at the /tmp volume, and the virtual environment's `wasmgate` as the
entrypoint. What matters for the kit's offline build: a wheelhouse directory the builder always
copies, and an index bypassed only when the build names that wheelhouse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTAINERFILE = REPO_ROOT / "Containerfile"
MANIFESTS = ("deploy/operator/deployment.yaml", "deploy/agent/daemonset.yaml")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))  # fmt: skip
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            parsed.append((keyword.upper(), " ".join(rest.split())))
    return parsed


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    for keyword, value in instructions(text):
        if keyword == "FROM":
            base, _, name = value.partition(" AS ")
            found.append(Stage(name.strip(), base.strip()))
        elif found:
            found[-1].instructions.append((keyword, value))
    return found


@pytest.fixture(scope="module")
def parsed() -> list[Stage]:
    return stages(CONTAINERFILE.read_text(encoding="utf-8"))


def test_a_builder_makes_wheels_from_the_pinned_constraints(parsed: list[Stage]) -> None:
    assert [stage.name for stage in parsed] == ["builder", "runtime"]
    builder = parsed[0]
    assert any("pip wheel" in run and "--constraint tools/constraints.txt" in run
               for run in builder.values("RUN")), builder.values("RUN")  # fmt: skip


def test_the_environment_holds_only_the_builders_wheels(parsed: list[Stage]) -> None:
    install = [run for run in parsed[0].values("RUN") if " install " in run]
    assert len(install) == 1, install
    assert "pip --python /opt/wasmgate/bin/python install" in install[0], install
    assert "--no-index --find-links /wheels" in install[0], install
    assert "python -m venv --without-pip /opt/wasmgate" in install[0], "no pip at run time"


def test_the_runtime_is_the_base_and_the_environment(parsed: list[Stage]) -> None:
    runtime = parsed[-1]
    assert runtime.values("COPY") == ["--from=builder /opt/wasmgate /opt/wasmgate"]
    assert runtime.values("RUN") == []


def test_the_index_is_bypassed_only_for_a_named_wheelhouse(parsed: list[Stage]) -> None:
    builder = parsed[0]
    assert "WHEELHOUSE=" in builder.values("ARG")
    assert "tools/wheelhouse tools/wheelhouse" in builder.values("COPY")
    wheel = next(run for run in builder.values("RUN") if "pip wheel" in run)
    assert '${WHEELHOUSE:+--no-index --find-links "$WHEELHOUSE"}' in wheel, wheel


def test_the_wheelhouse_directory_is_in_the_checkout_and_the_context() -> None:
    assert (REPO_ROOT / "tools/wheelhouse").is_dir()
    ignored = (REPO_ROOT / ".containerignore").read_text(encoding="utf-8").split()
    assert not [pattern for pattern in ignored if pattern.startswith("tools")], ignored


def test_nothing_is_fetched_by_url(parsed: list[Stage]) -> None:
    adds = [value for stage in parsed for value in stage.values("ADD")]
    assert adds == [], "use COPY; ADD fetches URLs and unpacks archives implicitly"
    bases = [stage.base for stage in parsed]
    assert all(base == "${PYTHON_IMAGE}" for base in bases), bases


def test_the_runtime_user_is_the_non_root_uid_of_the_manifests(parsed: list[Stage]) -> None:
    users = parsed[-1].values("USER")
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid == uid, users
    for manifest in MANIFESTS:
        pod = yaml.safe_load((REPO_ROOT / manifest).read_text())["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == int(uid), manifest
        assert pod["securityContext"]["runAsNonRoot"] is True, manifest


def test_the_runtime_writes_nothing_outside_tmp(parsed: list[Stage]) -> None:
    runtime = parsed[-1]
    after_user = runtime.instructions[
        next(i for i, (key, _) in enumerate(runtime.instructions) if key == "USER") :
    ]
    assert [key for key, _ in after_user if key == "RUN"] == []
    env = " ".join(runtime.values("ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env, env


def test_the_entrypoint_is_the_environments_wasmgate(parsed: list[Stage]) -> None:
    runtime = parsed[-1]
    assert [json.loads(v) for v in runtime.values("ENTRYPOINT")] == [["/opt/wasmgate/bin/wasmgate"]]
    assert "PATH=/opt/wasmgate/bin:$PATH" in " ".join(runtime.values("ENV"))


def test_python_objects_live_in_the_c_heap_that_the_operator_trims(parsed: list[Stage]) -> None:
    # runner/free_memory_watch.py returns freed pages of glibc's heap; under pymalloc they are not
    # there to return.
    assert "PYTHONMALLOC=malloc" in " ".join(parsed[-1].values("ENV"))
