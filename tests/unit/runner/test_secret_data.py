"""Key Secrets are read once per version: every plugin of a team shares one (no cluster)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from wasmgate.runner import cluster


def test_a_secret_is_read_again_only_when_its_version_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    versions = iter(["u:1", "u:2"])

    def read(_: object, namespace: str, name: str) -> tuple[Mapping[str, str], str]:
        reads.append(f"{namespace}/{name}")
        return {"cosign.pub": "UEVN"}, next(versions)

    monkeypatch.setattr(cluster, "_read_secret", read)
    secrets = cluster.SecretData()
    api = object()
    assert secrets.read(api, "ops", "key", None) == {"cosign.pub": "UEVN"}  # type: ignore[arg-type]
    assert secrets.read(api, "ops", "key", "u:1") == {"cosign.pub": "UEVN"}  # type: ignore[arg-type]
    assert reads == ["ops/key"]
    secrets.read(api, "ops", "key", "u:2")  # type: ignore[arg-type]
    assert reads == ["ops/key", "ops/key"]
    assert "UEVN" not in repr(secrets)
