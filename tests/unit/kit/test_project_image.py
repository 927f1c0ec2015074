"""The wasmgate image's build context and cache key, checked without building anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wasmgate_kit.paths import repo_root
from wasmgate_kit.project_image import (
    CONTEXT_FILES,
    WHEELHOUSE,
    context_files,
    image_key,
    stage_context,
)

BASE = "wasmgate.kit/debian-python-venv:0123456789abcdef"
BUILDAH = "buildah version 1.28.2"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A small checkout with what a real one holds next to the sources."""
    root = tmp_path / "checkout"
    for name in CONTEXT_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")
    files = {
        "operator/wasmgate/cli.py": "def main() -> None: ...\n",
        "operator/wasmgate/api/crd.json": "{}\n",
        "operator/wasmgate/__pycache__/cli.cpython-311.pyc": "bytecode",
        "operator/wasmgate.egg-info/PKG-INFO": "Name: wasmgate\n",
        "operator/.mypy_cache/3.11/cache.json": "{}",
        "webhooks/wasmgate_admission/app.py": "app = None\n",
        "tests/e2e/test_anything.py": "def test() -> None: ...\n",
        "docs/index.md": "# docs\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "wheelhouse"
    directory.mkdir()
    (directory / "pyyaml-6.0.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"wheel")
    return directory


def test_the_context_holds_what_the_containerfile_copies_and_nothing_else(
    checkout: Path, wheels: Path
) -> None:
    assert list(context_files(checkout, wheels)) == [
        "Containerfile",
        "README.md",
        "operator/wasmgate/api/crd.json",
        "operator/wasmgate/cli.py",
        "pyproject.toml",
        "tools/constraints.txt",
        f"{WHEELHOUSE}/pyyaml-6.0.4-cp311-cp311-manylinux_2_17_x86_64.whl",
        "webhooks/wasmgate_admission/app.py",
    ]


def test_the_staged_context_is_a_copy_with_the_wheelhouse(
    checkout: Path, wheels: Path, tmp_path: Path
) -> None:
    files = context_files(checkout, wheels)
    stage_context(files, tmp_path / "context")
    staged = sorted(
        p.relative_to(tmp_path / "context").as_posix()
        for p in (tmp_path / "context").rglob("*")
        if p.is_file()
    )
    assert staged == list(files)
    assert (tmp_path / "context/operator/wasmgate/cli.py").read_text() == (
        "def main() -> None: ...\n"
    )


def test_an_empty_wheelhouse_is_still_a_directory_of_the_context(
    checkout: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    stage_context(context_files(checkout, empty), tmp_path / "context")
    assert (tmp_path / "context" / WHEELHOUSE).is_dir()


def test_the_repository_context_has_the_containerfile_and_the_cli(tmp_path: Path) -> None:
    files = context_files(repo_root(), tmp_path)
    assert {"Containerfile", "pyproject.toml", "operator/wasmgate/cli.py"} <= set(files)
    assert not [name for name in files if "__pycache__" in name or name.startswith("tests/")]


@pytest.mark.parametrize(
    ("written", "rebuilds"),
    [
        pytest.param("operator/wasmgate/cli.py", True, id="a-source-file"),
        pytest.param("operator/wasmgate/new.py", True, id="a-new-source-file"),
        pytest.param("Containerfile", True, id="the-containerfile"),
        pytest.param("tools/constraints.txt", True, id="the-pins"),
        pytest.param("operator/wasmgate/__pycache__/cli.cpython-311.pyc", False, id="bytecode"),
        pytest.param("tests/e2e/test_anything.py", False, id="a-test"),
        pytest.param("docs/index.md", False, id="the-docs"),
    ],
)
def test_the_key_changes_with_the_context_only(
    checkout: Path, wheels: Path, written: str, rebuilds: bool
) -> None:
    before = image_key(context_files(checkout, wheels), BASE, BUILDAH)
    (checkout / written).write_text("changed\n")
    after = image_key(context_files(checkout, wheels), BASE, BUILDAH)
    assert (after != before) is rebuilds


def test_the_key_changes_with_an_exec_bit(checkout: Path, wheels: Path) -> None:
    before = image_key(context_files(checkout, wheels), BASE, BUILDAH)
    (checkout / "operator/wasmgate/cli.py").chmod(0o755)
    assert image_key(context_files(checkout, wheels), BASE, BUILDAH) != before


def test_the_key_is_the_same_for_a_copy_elsewhere(
    checkout: Path, wheels: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(checkout, tmp_path / "elsewhere")
    assert image_key(context_files(copy, wheels), BASE, BUILDAH) == image_key(
        context_files(checkout, wheels), BASE, BUILDAH
    )


@pytest.mark.parametrize(
    ("base", "buildah"),
    [
        pytest.param("wasmgate.kit/debian-python-venv:fedcba9876543210", BUILDAH, id="base"),
        pytest.param(BASE, "buildah version 1.33.7", id="buildah"),
    ],
)
def test_the_key_changes_with_the_base_and_buildah(
    checkout: Path, wheels: Path, base: str, buildah: str
) -> None:
    files = context_files(checkout, wheels)
    assert image_key(files, base, buildah) != image_key(files, BASE, BUILDAH)


def test_the_key_changes_with_a_wheel(checkout: Path, wheels: Path) -> None:
    before = image_key(context_files(checkout, wheels), BASE, BUILDAH)
    (wheels / "pyyaml-6.0.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"other")
    assert image_key(context_files(checkout, wheels), BASE, BUILDAH) != before
