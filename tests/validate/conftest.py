"""Fixtures of the validate tests: the wasm test plugins, built once per session."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ASSETS_BUILDER = Path(__file__).resolve().parents[1] / "assets" / "wasm" / "build_assets.py"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasm_assets_builder", ASSETS_BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def wasm_assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{asset name: built file}; fails (never skips) when clang/lld are missing."""
    builder = _load_builder()
    try:
        return builder.build_all(tmp_path_factory.mktemp("wasm-assets"))
    except builder.AssetBuildError as e:
        pytest.fail(str(e))
