"""`wasmgate inspect` and `wasmgate verify` against the kit's registry and cluster.

A module is pushed with `wasmgate push` and signed by the real cosign in both formats (legacy
`.sig` tag and a sigstore bundle referrer). inspect must report its digest, layout, layers,
exports and both signers; verify must give the verdict of the cluster's WasmTrustPolicies, read
through the kubeconfig, with the operator's reasons, and flag what a Warn-mode policy would
refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.kit import KitHandle
from support.operator import (
    apply,
    conditions,
    fingerprint,
    install_crds,
    key_secret,
    namespace,
    running_operator,
    wait_plugins,
)
from support.registries import of_kit
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign, make_key
from support.wasmgate_cli import push, wasmgate

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-system"
ENFORCED = "inspect-verify-e2e"
WARNED = "inspect-verify-e2e-warn"


@pytest.fixture(scope="module")
def keys(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    root = tmp_path_factory.mktemp("inspect-verify-keys")
    cosign = kit_session.bin("cosign")
    return {name: make_key(cosign, "p256", root / name) for name in ("trusted", "other")}


@pytest.fixture(scope="module")
def signed(
    kit_session: KitHandle,
    wasm_assets: dict[str, Path],
    keys: dict[str, SigningKey],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """filter_node_name_suffix on the oci registry, signed by `trusted` in both formats."""
    registry = of_kit(kit_session.kit)["oci"]
    reference = f"{registry.host}/inspect-e2e/filter:v1"
    digest = push(wasm_assets["filter_node_name_suffix"], reference)
    by_digest = f"{registry.host}/inspect-e2e/filter@{digest}"
    work = tmp_path_factory.mktemp("inspect-verify-sign")
    cosign = kit_session.bin("cosign")
    for fmt in (LEGACY, BUNDLE):
        cosign_sign(cosign, registry, by_digest, keys["trusted"], fmt, work)
    return by_digest


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode in (0, 1), result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_inspect_reports_layout_exports_and_both_signers(
    kit: KitHandle, signed: str, keys: dict[str, SigningKey], wasm_assets: dict[str, Path]
) -> None:
    host = kit.registries["oci"].host
    digest = signed.rsplit("@", 1)[1]

    result = wasmgate(
        "inspect", "-o", "json", "--plain-http", host, "--key", keys["trusted"].public, signed
    )
    report = _json(result)

    assert result.returncode == 0
    assert report["digest"] == digest
    assert report["layout"] == "cncf-wasm"
    assert [layer["mediaType"] for layer in report["layers"]] == ["application/wasm"]
    module_size = wasm_assets["filter_node_name_suffix"].stat().st_size
    assert report["size"]["module"] == module_size == report["layers"][0]["size"]
    exports = {e["name"]: e for e in report["module"]["exports"]}
    assert exports["filter"]["extensionPoint"] is True
    assert exports["filter"]["signatureMatchesAbi"] is True
    assert exports["memory"]["kind"] == "memory"
    found = report["signatures"]["found"]
    assert sorted(s["format"] for s in found) == ["cosign-legacy", "sigstore-bundle"]
    for signature in found:
        assert signature["signsThisDigest"] is True
        assert signature["repositoryMatches"] is True
        assert signature["signer"]["verified"] is True, signature
        assert signature["signer"]["keyFingerprint"] == fingerprint(keys["trusted"].public)
    bundle = next(s for s in found if s["format"] == "sigstore-bundle")
    assert bundle["discovery"] == "referrers API"

    text = wasmgate("inspect", "--plain-http", host, signed)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"wasmgate inspect {signed}"
    assert f"  digest      {digest}" in lines
    assert "  signatures  2 found" in lines
    assert any(line.startswith("    filter ") and "extension point" in line for line in lines)
    assert sum("give --key to identify it" in line for line in lines) == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-o", "yaml"], '"yaml" is not an output format; write -o text (the default) or -o json'),
        (["--key", "/nonexistent/cosign.pub"], "--key: /nonexistent/cosign.pub is not a readable"),
        (["--plain-http", "host/path"], '--plain-http: "host/path" is not a registry host'),
        (["--ca-file", "nohost"], '--ca-file: "nohost" is not REGISTRY=FILE'),
        (["--trusted-root", "/nonexistent.json"], "--trusted-root: /nonexistent.json is not a"),
    ],
    ids=["output", "key", "plain-http", "ca-file", "trusted-root"],
)
def test_inspect_bad_flags_name_the_flag_and_the_fix(
    kit: KitHandle, signed: str, flags: list[str], message: str
) -> None:
    result = wasmgate("inspect", *flags, signed)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.fixture
def policies(kit: KitHandle, keys: dict[str, SigningKey]) -> Iterator[None]:
    """An Enforce policy trusting `trusted`, a Warn policy trusting only `other`."""
    install_crds(kit)
    namespace(kit, NAMESPACE)
    for name, key in keys.items():
        key_secret(kit, NAMESPACE, f"inspect-verify-{name}", key.public)
    for policy, key, mode in ((ENFORCED, "trusted", "Enforce"), (WARNED, "other", "Warn")):
        secret_ref = {"namespace": NAMESPACE, "name": f"inspect-verify-{key}"}
        apply(
            kit,
            {
                "apiVersion": "wasmgate.dev/v1alpha1",
                "kind": "WasmTrustPolicy",
                "metadata": {"name": policy},
                "spec": {"mode": mode, "keys": [{"secretRef": secret_ref}]},
            },
        )
    try:
        yield
    finally:
        kit.kubectl("delete", "wasmtrustpolicy", ENFORCED, WARNED, "--ignore-not-found")


def _verify(kit: KitHandle, reference: str, *extra: str) -> Any:
    host = reference.split("/", 1)[0]
    return wasmgate(
        "verify", "--kubeconfig", kit.kubeconfig, "--plain-http", host, *extra, reference
    )


def test_verify_gives_the_cluster_verdict_with_the_operators_reasons(
    kit: KitHandle,
    policies: None,
    signed: str,
    keys: dict[str, SigningKey],
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    verified = _verify(kit, signed, "-o", "json")
    document = _json(verified)
    assert verified.returncode == 0, verified.stdout
    assert document["verdict"] == "Verified"
    assert document["reason"] == "Verified"
    assert document["signature"]["keyFingerprint"] == fingerprint(keys["trusted"].public)
    assert document["message"].startswith(f"{document['digest']} signed by Secret {NAMESPACE}/")
    # The Warn policy trusts only `other`: enforced, it would refuse.
    assert document["warning"]["policies"] == [WARNED]
    assert document["warning"]["reason"] == "SignatureUntrusted"

    host = kit.registries["oci"].host
    unsigned_ref = f"{host}/inspect-e2e/unsigned:v1"
    push(wasm_assets["score_node_label"], unsigned_ref)
    refused = _verify(kit, unsigned_ref, "-o", "json")
    document = _json(refused)
    assert refused.returncode == 1
    assert document["verdict"] == "Refused"
    assert document["reason"] == "SignatureMissing"
    assert "is not signed (looked at" in document["message"]
    assert "sign it with `cosign sign --key cosign.key" in document["message"]

    text = _verify(kit, unsigned_ref)
    assert text.returncode == 1
    assert "  verdict    REFUSED (SignatureMissing)" in text.stdout.splitlines()
    assert f"{ENFORCED} (Enforce)" in text.stdout

    not_a_plugin = tmp_path / "plugin.yaml"
    not_a_plugin.write_text("kind: Deployment\n")
    bad = _verify(kit, signed, "--plugin", not_a_plugin)
    assert bad.returncode == 2
    assert "--plugin: " in bad.stderr and "is not a WasmPlugin manifest" in bad.stderr
    missing = _verify(kit, signed, "--kubeconfig", tmp_path / "nope")
    assert missing.returncode == 2
    assert f"--kubeconfig: {tmp_path / 'nope'} does not exist" in missing.stderr


def _plugin_document(name: str, image: str, verify_key: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"image": image}}
    if verify_key is not None:
        secret_ref = {"namespace": NAMESPACE, "name": f"inspect-verify-{verify_key}"}
        spec["verify"] = {"keys": [{"secretRef": secret_ref}]}
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_verify_says_what_the_operator_writes_in_status(
    kit: KitHandle,
    policies: None,
    signed: str,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    host = kit.registries["oci"].host
    unsigned = f"{host}/inspect-e2e/unsigned-for-status:v1"
    push(wasm_assets["score_node_label"], unsigned)
    documents = {
        "verify-e2e-trusted": _plugin_document("verify-e2e-trusted", signed),
        "verify-e2e-unsigned": _plugin_document("verify-e2e-unsigned", unsigned),
        # Its own spec.verify trusts only `other`; the artifact is signed by `trusted`.
        "verify-e2e-own-key": _plugin_document("verify-e2e-own-key", signed, "other"),
    }
    expected = {
        "verify-e2e-trusted": ("Verified", "True"),
        "verify-e2e-unsigned": ("Verified", "False"),
        "verify-e2e-own-key": ("Verified", "False"),
    }
    with running_operator(kit, tmp_path, "--no-webhook", "--resync-seconds=3600") as operator:
        try:
            for document in documents.values():
                apply(kit, document)
            bodies = wait_plugins(kit, operator, expected)
        finally:
            kit.kubectl("delete", "wasmplugin", *documents, "--ignore-not-found", "--wait=false")

    for name, document in documents.items():
        manifest = tmp_path / f"{name}.yaml"
        manifest.write_text(json.dumps(document))
        result = _verify(
            kit, document["spec"]["source"]["image"], "-o", "json", "--plugin", manifest
        )
        cli = _json(result)
        status = conditions(bodies[name])
        assert [(c["type"], c["status"], c["reason"], c["message"]) for c in cli["conditions"]] == [
            (t, status[t]["status"], status[t]["reason"], status[t]["message"])
            for t in ("Resolved", "Verified")
        ], name
        assert cli["reason"] == status["Verified"]["reason"]
        assert result.returncode == (0 if expected[name][1] == "True" else 1)
    reasons = {name: conditions(body)["Verified"]["reason"] for name, body in bodies.items()}
    assert reasons == {
        "verify-e2e-trusted": "Verified",
        "verify-e2e-unsigned": "SignatureMissing",
        "verify-e2e-own-key": "SignatureUntrusted",
    }
