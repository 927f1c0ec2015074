"""Session fixtures for the trust tests: real registries, the real cosign, and signing keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from support.local_registries import Registries, find_binary, start_all
from support.signing import SigningKey, make_key

KEY_KINDS = ("p256", "p384", "rsa", "ed25519")


@pytest.fixture(scope="session")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    yield from start_all(tmp_path_factory.mktemp("registries"))


@pytest.fixture(scope="session")
def cosign_bin() -> Path:
    return find_binary("cosign")


@pytest.fixture(scope="session")
def oras_bin() -> Path:
    return find_binary("oras")


@pytest.fixture(scope="session")
def keys(cosign_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    root = tmp_path_factory.mktemp("keys")
    made = {kind: make_key(cosign_bin, kind, root / kind) for kind in KEY_KINDS}
    made["other"] = replace(make_key(cosign_bin, "p256", root / "other"), name="other")
    return made
