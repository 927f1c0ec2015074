"""The kit's registries are real: oras round-trips blobs, basic auth is enforced."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.kit import KitHandle

REGISTRIES = ["oci", "oci-auth", "distribution", "distribution-auth"]


def _auth(kit: KitHandle, name: str, password: str | None = None) -> list[str]:
    registry = kit.registries[name]
    if not registry.username:
        return []
    return ["-u", registry.username, "-p", password or registry.password or ""]


@pytest.mark.parametrize("name", REGISTRIES, ids=REGISTRIES)
def test_oras_push_then_pull_round_trips_a_blob(kit: KitHandle, name: str, tmp_path: Path) -> None:
    registry = kit.registries[name]
    payload = tmp_path / "plugin.wasm"
    payload.write_bytes(b"\0asm\1\0\0\0" + name.encode() * 1000)
    ref = f"{registry.host}/roundtrip/{name}:v1"
    kit.run(
        "oras",
        "push",
        "--plain-http",
        *_auth(kit, name),
        ref,
        "plugin.wasm:application/wasm",
        cwd=tmp_path,
    )
    out = tmp_path / "out"
    kit.run("oras", "pull", "--plain-http", *_auth(kit, name), "-o", out, ref)
    assert (out / "plugin.wasm").read_bytes() == payload.read_bytes()


@pytest.mark.parametrize("name", ["oci-auth", "distribution-auth"])
def test_wrong_credentials_are_refused(kit: KitHandle, name: str, tmp_path: Path) -> None:
    registry = kit.registries[name]
    (tmp_path / "plugin.wasm").write_bytes(b"\0asm\1\0\0\0")
    ref = f"{registry.host}/refused/{name}:v1"
    result = kit.run(
        "oras",
        "push",
        "--plain-http",
        *_auth(kit, name, "not-the-password"),
        ref,
        "plugin.wasm:application/wasm",
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode != 0
    assert "401" in result.stderr or "unauthorized" in result.stderr.lower()
    anonymous = kit.run("oras", "pull", "--plain-http", ref, check=False)
    assert anonymous.returncode != 0


def test_only_the_oci_registry_serves_the_referrers_api(kit: KitHandle, tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    (tmp_path / "plugin.wasm").write_bytes(b"\0asm\1\0\0\0referrers")
    codes = {}
    for name in ("oci", "distribution"):
        registry = kit.registries[name]
        ref = f"{registry.host}/referrers/probe:v1"
        kit.run("oras", "push", "--plain-http", ref, "plugin.wasm:application/wasm", cwd=tmp_path)
        digest = kit.run("oras", "resolve", "--plain-http", ref).stdout.strip()
        url = f"{registry.url}/v2/referrers/probe/referrers/{digest}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                codes[name] = response.status
        except urllib.error.HTTPError as e:
            codes[name] = e.code
    assert codes == {"oci": 200, "distribution": 404}
    assert kit.registries["oci"].supports_referrers
    assert not kit.registries["distribution"].supports_referrers
