"""`wasmgate save` and `wasmgate load` between the kit's two registries, verified offline.

A module is pushed to `oci` (which has the referrers API) and signed by the real cosign in both
formats. `save` writes it, its signatures and the trusted root to a tar; `oci` is then stopped,
and `load` pushes the tar into `distribution` (no referrers API, so the fallback tag must be
written). `wasmgate verify` then gives the cluster's verdict on the loaded copy, with the source
registry still down, and `wasmgate inspect` shows what travelled.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.kit import KitHandle
from support.operator import apply, fingerprint, install_crds, key_secret, namespace
from support.registries import LocalRegistry, of_kit
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign, make_key
from support.wasmgate_cli import push, wasmgate
from wasmgate.trust.trusted_root import production_trusted_root_bytes

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-system"
POLICY = "airgap-e2e"
REPOSITORY = "airgap-e2e/filter"
PREFIX = "internal"


@pytest.fixture(scope="module")
def key(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return make_key(kit_session.bin("cosign"), "p256", tmp_path_factory.mktemp("airgap-key"))


@pytest.fixture
def policy(kit: KitHandle, key: SigningKey) -> Iterator[None]:
    install_crds(kit)
    namespace(kit, NAMESPACE)
    key_secret(kit, NAMESPACE, "airgap-e2e-key", key.public)
    secret_ref = {"namespace": NAMESPACE, "name": "airgap-e2e-key"}
    apply(
        kit,
        {
            "apiVersion": "wasmgate.dev/v1alpha1",
            "kind": "WasmTrustPolicy",
            "metadata": {"name": POLICY},
            "spec": {"keys": [{"secretRef": secret_ref}]},
        },
    )
    try:
        yield
    finally:
        kit.kubectl("delete", "wasmtrustpolicy", POLICY, "--ignore-not-found")


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode in (0, 1), result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_save_stop_load_verify(
    kit: KitHandle,
    policy: None,
    key: SigningKey,
    stoppable_source: LocalRegistry,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    source = stoppable_source
    target = of_kit(kit.kit)["distribution"]
    digest = push(wasm_assets["filter_node_name_suffix"], f"{source.host}/{REPOSITORY}:v1")
    signed = f"{source.host}/{REPOSITORY}@{digest}"
    for fmt in (LEGACY, BUNDLE):
        cosign_sign(kit.bin("cosign"), source, signed, key, fmt, tmp_path)
    bundle = tmp_path / "plugins.tar"

    saved = wasmgate(
        "save", "--plain-http", source.host, "-o", bundle, f"{source.host}/{REPOSITORY}:v1"
    )

    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.splitlines() == [
        f"{source.host}/{REPOSITORY}:v1@{digest}: 1 legacy signature(s), 1 referrer(s)"
    ]
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"oci-layout", "index.json"} <= set(names)
    roles = sorted(e["annotations"]["dev.wasmgate.role"] for e in index["manifests"])
    assert roles == ["artifact", "legacy-signature", "referrer", "trusted-root"]

    source.stop()
    unreachable = wasmgate("inspect", "--plain-http", source.host, signed)
    assert unreachable.returncode == 2
    assert "RegistryUnavailable" in unreachable.stderr

    root_out = tmp_path / "trusted_root.json"
    loaded = wasmgate(
        "load", bundle, "--to", f"{target.host}/{PREFIX}", "--plain-http", target.host,
        "--trusted-root-out", root_out,
    )  # fmt: skip

    moved = f"{target.host}/{PREFIX}/{REPOSITORY}"
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == [
        f"{moved}:v1@{digest}: 1 legacy signature(s), 1 referrer(s), fallback tag written"
    ]
    assert root_out.read_bytes() == production_trusted_root_bytes()

    verified = wasmgate(
        "verify", "-o", "json", "--kubeconfig", kit.kubeconfig,
        "--plain-http", target.host, f"{moved}:v1",
    )  # fmt: skip
    verdict = _json(verified)
    assert verdict["verdict"] == "Verified", verdict
    assert verdict["digest"] == digest
    assert verdict["signature"]["discovery"] == "ReferrersTag"
    assert verdict["signature"]["keyFingerprint"] == fingerprint(key.public)
    # The legacy payload names the source repository: it does not count at the new name.
    rejected = verdict["signature"]["rejected"]
    assert [r["reason"].split(":")[0] for r in rejected] == ["SignatureIdentityMismatch"]
    assert f"signs repository {source.host}/{REPOSITORY}" in rejected[0]["reason"]

    inspected = _json(wasmgate("inspect", "-o", "json", "--plain-http", target.host, f"{moved}:v1"))
    assert inspected["digest"] == digest
    formats = {s["format"]: s for s in inspected["signatures"]["found"]}
    assert formats["sigstore-bundle"]["discovery"] == "referrers fallback tag sha256-<hex>"
    assert formats["cosign-legacy"]["repositoryMatches"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load", "{bundle}", "--to", "nohost"], '--to: "nohost" is not a registry; write'),
        (["load", "{bundle}", "--to", "h.example/UPPER"], '--to: "h.example/UPPER" is not a'),
        (["load", "{missing}", "--to", "h.example"], "BUNDLE: {missing} is not a file"),
        (["load", "{not_tar}", "--to", "h.example"], "not.json: not a readable tar"),
        (["save", "-o", "{tmp}", "h.example/x:v1"], "-o: {tmp} is a directory; name the tar"),
        (["save", "-o", "{tmp}/no/dir.tar", "h.example/x:v1"], "-o: {tmp}/no does not exist"),
        (["save", "-o", "{bundle}", "--trusted-root", "{not_tar}", "h.example/x:v1"],
         "--trusted-root {not_tar}: not a usable sigstore trusted root"),
    ],
    ids=["to-no-host", "to-bad-path", "bundle-missing", "bundle-not-tar", "output-dir",
         "output-parent", "trusted-root-invalid"],
)  # fmt: skip
def test_bad_flags_name_the_flag_and_the_fix(tmp_path: Path, argv: list[str], message: str) -> None:
    paths = {
        "bundle": tmp_path / "b.tar",
        "missing": tmp_path / "missing.tar",
        "not_tar": tmp_path / "not.json",
        "tmp": tmp_path,
    }
    paths["bundle"].write_bytes(b"")
    paths["not_tar"].write_text("{}")

    result = wasmgate(*(a.format(**paths) for a in argv))

    assert result.returncode == 2, result.stdout
    assert message.format(**paths) in result.stderr
    assert not (tmp_path / "no").exists()


def test_load_into_a_registry_behind_a_login(
    kit: KitHandle, wasm_assets: dict[str, Path], tmp_path: Path
) -> None:
    source = of_kit(kit.kit)["oci"]
    target = of_kit(kit.kit)["distribution-auth"]
    digest = push(wasm_assets["score_node_label"], f"{source.host}/airgap-e2e/auth:v2")
    bundle = tmp_path / "auth.tar"
    saved = wasmgate(
        "save", "--no-trusted-root", "--plain-http", source.host, "-o", bundle,
        f"{source.host}/airgap-e2e/auth:v2",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    docker_config = tmp_path / "config.json"
    docker_config.write_bytes(target.dockerconfig())
    load = ["load", bundle, "--to", target.host, "--plain-http", target.host]

    root_out = tmp_path / "r.json"
    no_root = wasmgate(*load, "--docker-config", docker_config, "--trusted-root-out", root_out)
    pushed_before = kit.run("oras", "repo", "tags", "--plain-http", "-u", target.username or "",
                            "-p", target.password or "", f"{target.host}/airgap-e2e/auth",
                            check=False)  # fmt: skip
    anonymous = wasmgate(*load, "--docker-config", tmp_path / "none.json")
    authorized = wasmgate(*load, "--docker-config", docker_config)

    assert anonymous.returncode == 2
    assert "wasmgate load: RegistryAuthFailed:" in anonymous.stderr
    assert authorized.returncode == 0, authorized.stderr
    assert authorized.stdout.splitlines() == [
        f"{target.host}/airgap-e2e/auth:v2@{digest}: 0 legacy signature(s), 0 referrer(s)"
    ]
    assert target.password is not None
    assert target.password not in authorized.stdout + authorized.stderr
    # Refused before anything was pushed.
    assert no_root.returncode == 2
    assert "--trusted-root-out: " in no_root.stderr and "drop the flag" in no_root.stderr
    assert "v2" not in pushed_before.stdout.split()
    assert not root_out.exists()
