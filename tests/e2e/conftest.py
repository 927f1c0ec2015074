"""Fixtures shared by end-to-end tests: the wasm test plugins and upstream's harness, built once
per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import fault_clock
from support.kit import KitHandle
from support.registries import LocalRegistry, of_kit
from support.upstream_verdict import AGREEMENT_KEY
from support.wasm_assets import build_wasm_assets
from wasmgate_kit.build import binary_path, build
from wasmgate_kit.components import component_named


@pytest.fixture(scope="session")
def wasm_assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{asset name: built file} of every plugin in tests/assets/wasm."""
    return build_wasm_assets(tmp_path_factory.mktemp("e2e-wasm-assets"))


@pytest.fixture(scope="session")
def upstream_verdict_binary() -> Path:
    """upstream-verdict, our harness around upstream's plugin package (built by the kit)."""
    build(component_named("upstream-scheduler"))
    return binary_path("upstream-verdict")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the differential suite's agreement with upstream as a number, pass or fail, and
    the fault suite's total time."""
    for line in (config.stash.get(AGREEMENT_KEY, None), fault_clock.summary()):
        if line is not None:
            terminalreporter.write_line(line)


@pytest.fixture
def stoppable_source(kit: KitHandle) -> Iterator[LocalRegistry]:
    """The `oci` registry; running again (same port and content) after the test."""
    registry = of_kit(kit.kit)["oci"]
    try:
        yield registry
    finally:
        if registry.process is not None and not registry.process.running():
            registry.start()
