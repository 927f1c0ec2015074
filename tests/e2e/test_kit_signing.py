"""cosign signs and verifies against both registries, offline, in both signature formats.

On `distribution` (no referrers API) the bundle format lands under the `sha256-<hex>` fallback
tag and the legacy format under `sha256-<hex>.sig`; on `oci` the bundle is a referrer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.kit import KitHandle

COSIGN_PASSWORD = "kit-test-password"
OFFLINE_SIGN = ["--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y"]
OFFLINE_VERIFY = ["--insecure-ignore-tlog", "--allow-http-registry"]

CASES = [
    ("oci", "bundle"),
    ("oci", "legacy"),
    ("distribution-auth", "bundle"),
    ("distribution-auth", "legacy"),
]


def _registry_flags(kit: KitHandle, name: str) -> list[str]:
    registry = kit.registries[name]
    if not registry.username:
        return []
    return [
        "--registry-username",
        registry.username,
        "--registry-password",
        registry.password or "",
    ]


@pytest.fixture(scope="module")
def key_pair(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cosign")
    kit_session.run(
        "cosign", "generate-key-pair", env={"COSIGN_PASSWORD": COSIGN_PASSWORD}, cwd=directory
    )
    return directory


@pytest.mark.parametrize(("name", "fmt"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_cosign_sign_then_verify_round_trips(
    kit: KitHandle, key_pair: Path, tmp_path: Path, name: str, fmt: str
) -> None:
    registry = kit.registries[name]
    oras_auth = (
        ["-u", registry.username, "-p", registry.password or ""] if registry.username else []
    )
    (tmp_path / "plugin.wasm").write_bytes(b"\0asm\1\0\0\0" + f"{name}{fmt}".encode())
    repo = f"{registry.host}/signed/{fmt}"
    kit.run(
        "oras",
        "push",
        "--plain-http",
        *oras_auth,
        f"{repo}:v1",
        "plugin.wasm:application/wasm",
        cwd=tmp_path,
    )
    digest = kit.run("oras", "resolve", "--plain-http", *oras_auth, f"{repo}:v1").stdout.strip()
    ref = f"{repo}@{digest}"
    format_flag = "--new-bundle-format=false" if fmt == "legacy" else "--new-bundle-format=true"
    kit.run(
        "cosign",
        "sign",
        "--key",
        key_pair / "cosign.key",
        format_flag,
        *OFFLINE_SIGN,
        *_registry_flags(kit, name),
        ref,
        env={"COSIGN_PASSWORD": COSIGN_PASSWORD},
    )

    verified = kit.run(
        "cosign",
        "verify",
        "--key",
        key_pair / "cosign.pub",
        *OFFLINE_VERIFY,
        *_registry_flags(kit, name),
        ref,
    )
    payload = json.loads(verified.stdout.strip().splitlines()[-1])
    assert payload[0]["critical"]["image"]["docker-manifest-digest"] == digest

    tags = kit.run("oras", "repo", "tags", "--plain-http", *oras_auth, repo).stdout.split()
    hex_digest = digest.removeprefix("sha256:")
    if fmt == "legacy":
        assert f"sha256-{hex_digest}.sig" in tags
    elif registry.supports_referrers:
        assert f"sha256-{hex_digest}" not in tags
    else:
        assert f"sha256-{hex_digest}" in tags, "no referrers API: the fallback tag must be used"


def test_cosign_verify_with_another_key_fails(
    kit: KitHandle, key_pair: Path, tmp_path: Path
) -> None:
    registry = kit.registries["oci"]
    (tmp_path / "plugin.wasm").write_bytes(b"\0asm\1\0\0\0other-key")
    repo = f"{registry.host}/signed/otherkey"
    kit.run(
        "oras", "push", "--plain-http", f"{repo}:v1", "plugin.wasm:application/wasm", cwd=tmp_path
    )
    digest = kit.run("oras", "resolve", "--plain-http", f"{repo}:v1").stdout.strip()
    kit.run(
        "cosign",
        "sign",
        "--key",
        key_pair / "cosign.key",
        *OFFLINE_SIGN,
        f"{repo}@{digest}",
        env={"COSIGN_PASSWORD": COSIGN_PASSWORD},
    )
    kit.run("cosign", "generate-key-pair", env={"COSIGN_PASSWORD": "x"}, cwd=tmp_path)
    result = kit.run(
        "cosign",
        "verify",
        "--key",
        tmp_path / "cosign.pub",
        *OFFLINE_VERIFY,
        f"{repo}@{digest}",
        check=False,
    )
    assert result.returncode != 0
    assert "accepted signatures do not match threshold" in result.stderr
