"""Fixtures of the validate tests: the wasm test plugins, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.wasm_assets import build_wasm_assets


@pytest.fixture(scope="session")
def wasm_assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{asset name: built file}."""
    return build_wasm_assets(tmp_path_factory.mktemp("wasm-assets"))
