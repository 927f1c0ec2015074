"""What the kit's wheelhouse downloads and when it downloads again, checked without pip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wasmgate_kit.paths import repo_root
from wasmgate_kit.wheelhouse import CONSTRAINTS, download_argv, requirements, wheelhouse_key

PYPROJECT = """
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "wasmgate"
dependencies = ["kopf>=1.45", "wasmtime>=50"]

[project.optional-dependencies]
dev = ["pytest>=9"]
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "tools").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / CONSTRAINTS).write_text("kopf==1.45.2\nwasmtime==50.0.1\n")
    return root


def test_the_requirements_are_the_build_backend_and_the_runtime_dependencies() -> None:
    assert requirements(PYPROJECT) == ["setuptools>=69", "kopf>=1.45", "wasmtime>=50"]


def test_the_projects_requirements_include_the_build_backend() -> None:
    found = requirements((repo_root() / "pyproject.toml").read_text())
    assert found[0].startswith("setuptools") and "wasmtime>=50" in found
    assert not [r for r in found if r.startswith("pytest")], "dev tools stay out of the image"


def test_pip_downloads_cp311_binary_wheels_for_glibc_x86_64_under_the_pins(
    checkout: Path, tmp_path: Path
) -> None:
    argv = download_argv(checkout, tmp_path / "out")
    assert argv[2:4] == ["pip", "download"]
    for option in (
        f"--dest={tmp_path / 'out'}",
        f"--constraint={checkout / CONSTRAINTS}",
        "--only-binary=:all:",
        "--python-version=3.11",
        "--abi=cp311",
        "--abi=abi3",
        # wasmtime's Linux wheel is tagged manylinux1 only: without it pip picks the empty `any`.
        "--platform=manylinux1_x86_64",
        "--platform=manylinux_2_36_x86_64",
        "--platform=manylinux_2_17_x86_64",
    ):
        assert option in argv, option
    assert "--platform=manylinux_2_37_x86_64" not in argv, "bookworm's glibc is 2.36"
    assert argv[-3:] == ["setuptools>=69", "kopf>=1.45", "wasmtime>=50"]


def test_the_key_changes_with_the_pins_and_the_requirements_only(
    checkout: Path, tmp_path: Path
) -> None:
    key = wheelhouse_key(checkout)
    assert wheelhouse_key(shutil.copytree(checkout, tmp_path / "elsewhere")) == key
    (checkout / "README.md").write_text("changed\n")
    assert wheelhouse_key(checkout) == key
    (checkout / CONSTRAINTS).write_text("kopf==1.45.3\nwasmtime==50.0.1\n")
    pinned = wheelhouse_key(checkout)
    assert pinned != key
    (checkout / "pyproject.toml").write_text(PYPROJECT.replace('"wasmtime>=50"', '"wasmtime>=51"'))
    assert wheelhouse_key(checkout) not in (key, pinned)
