"""Session fixtures for the oci tests: real registries on loopback (see local_registries.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.local_registries import Registries, find_binary, start_all


@pytest.fixture(scope="session")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    yield from start_all(tmp_path_factory.mktemp("registries"))


@pytest.fixture(scope="session")
def oras_bin() -> Path:
    return find_binary("oras")
