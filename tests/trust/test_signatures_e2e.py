"""Verify plugins signed by the real cosign and stored in real registries, in every format."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oci.artifacts import (
    credentials_for,
    push_cncf,
    push_compat,
    push_oras,
    run_oras,
    settings_for,
    wasm_bytes,
)
from oci.local_registries import (
    LocalRegistry,
    Registries,
    prepare_distribution,
    spawn_distribution,
    stop,
)
from trust.signing import BUNDLE, LEGACY, SigningKey, cosign_sign
from wasmgate.errors import (
    DigestMismatch,
    RegistryAuthFailed,
    RegistryUnavailable,
    SignatureDigestMismatch,
    SignatureIdentityMismatch,
    SignatureInvalid,
    SignatureLimitExceeded,
    SignatureMissing,
    SignatureUntrusted,
    WasmgateError,
)
from wasmgate.oci import RegistryClient, Resolved, parse_dockerconfigjson, push_wasm, resolve
from wasmgate.trust import AllOf, AnyOf, KeyPolicy, TrustSettings, VerificationResult, verify
from wasmgate.trust.candidates import Discovery, SignatureFormat

pytestmark = pytest.mark.e2e


def _verify(
    registry: LocalRegistry,
    resolved: Resolved,
    *keys: SigningKey,
    settings: TrustSettings | None = None,
    policy: object = None,
) -> VerificationResult:
    chosen = policy or KeyPolicy([k.trusted() for k in keys], "plugin keys")
    with RegistryClient(
        resolved.registry, settings_for(registry), credentials_for(registry), resolved.repository
    ) as client:
        return verify(resolved, chosen, client, settings)  # type: ignore[arg-type]


def _push(layout: str, oras_bin: Path, registry: LocalRegistry, ref: str, tmp: Path) -> str:
    data = wasm_bytes(f"{ref}-{layout}")
    if layout == "wasmgate-push":
        return push_cncf(registry, ref, data, tmp)
    if layout == "oras":
        return push_oras(
            oras_bin, registry, ref, data, "application/vnd.wasm.content.layer.v1+wasm", tmp
        )
    return push_compat(oras_bin, registry, ref, data, tmp)


@pytest.mark.parametrize("fmt", [LEGACY, BUNDLE])
@pytest.mark.parametrize("layout", ["wasmgate-push", "oras", "compat"])
@pytest.mark.parametrize("name", ["oci", "distribution", "distribution-auth"])
def test_signed_plugin_verifies_with_the_matching_key(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
    name: str,
    layout: str,
    fmt: str,
) -> None:
    registry = registries[name]
    ref = f"{registry.host}/signed/{layout}-{fmt}:v1"
    digest = _push(layout, oras_bin, registry, ref, tmp_path)
    cosign_sign(
        cosign_bin,
        registry,
        f"{registry.host}/signed/{layout}-{fmt}@{digest}",
        keys["p256"],
        fmt,
        tmp_path,
    )

    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    result = _verify(registry, resolved, keys["other"], keys["p256"])

    assert result.digest == digest
    match = result.primary
    assert match.fingerprint == keys["p256"].trusted().fingerprint
    assert match.key_name == "p256.pub"
    if fmt == LEGACY:
        assert (match.format, match.discovery) == (SignatureFormat.LEGACY, Discovery.SIG_TAG)
    else:
        expected = (
            Discovery.REFERRERS_API if registry.supports_referrers else Discovery.FALLBACK_TAG
        )
        assert (match.format, match.discovery) == (SignatureFormat.BUNDLE, expected)
    assert result.rejected == ()


@pytest.mark.parametrize("fmt", [LEGACY, BUNDLE])
@pytest.mark.parametrize("kind", ["p384", "rsa", "ed25519"])
def test_every_key_type_cosign_signs_with_verifies(
    registries: Registries,
    cosign_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
    kind: str,
    fmt: str,
) -> None:
    registry = registries["oci"]
    ref = f"{registry.host}/keys/{kind}-{fmt}:v1"
    digest = push_cncf(registry, ref, wasm_bytes(ref), tmp_path)
    cosign_sign(
        cosign_bin,
        registry,
        f"{registry.host}/keys/{kind}-{fmt}@{digest}",
        keys[kind],
        fmt,
        tmp_path,
    )

    result = _verify(registry, resolve(ref, settings_for(registry)), keys[kind])

    assert result.primary.fingerprint == keys[kind].trusted().fingerprint
    assert result.primary.algorithm == keys[kind].trusted().algorithm


def test_bundle_hint_is_our_fingerprint(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["oci"]
    ref = f"{registry.host}/hint/p:v1"
    digest = push_cncf(registry, ref, wasm_bytes(ref), tmp_path)
    out = tmp_path / "bundle.json"
    cosign_sign(
        cosign_bin,
        registry,
        f"{registry.host}/hint/p@{digest}",
        keys["p256"],
        BUNDLE,
        tmp_path,
        out,
    )

    hint = json.loads(out.read_text())["verificationMaterial"]["publicKey"]["hint"]

    assert base64.b64decode(hint).hex() == keys["p256"].trusted().fingerprint


def test_cluster_and_plugin_policies_combine(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["distribution"]
    ref = f"{registry.host}/policy/p:v1"
    digest = push_cncf(registry, ref, wasm_bytes(ref), tmp_path)
    image = f"{registry.host}/policy/p@{digest}"
    cosign_sign(cosign_bin, registry, image, keys["p256"], LEGACY, tmp_path)
    resolved = resolve(ref, settings_for(registry))
    plugin = KeyPolicy([keys["p256"].trusted()], "plugin keys")
    cluster = KeyPolicy([keys["rsa"].trusted()], "cluster keys")

    with pytest.raises(SignatureUntrusted) as missing_cluster:
        _verify(registry, resolved, policy=AllOf([plugin, cluster]))
    either = _verify(registry, resolved, policy=AnyOf([cluster, plugin]))
    cosign_sign(cosign_bin, registry, image, keys["rsa"], BUNDLE, tmp_path)
    both = _verify(registry, resolved, policy=AllOf([plugin, cluster]))

    assert "no signature verifies with cluster keys" in missing_cluster.value.message
    assert [m.policy for m in either.matches] == ["plugin keys"]
    assert {(m.policy, m.format) for m in both.matches} == {
        ("plugin keys", SignatureFormat.LEGACY),
        ("cluster keys", SignatureFormat.BUNDLE),
    }


# -- the failure table ------------------------------------------------------------------------


def _signed(
    registry: LocalRegistry,
    cosign_bin: Path,
    key: SigningKey,
    tmp: Path,
    repo: str,
    fmt: str = LEGACY,
) -> tuple[str, str]:
    ref = f"{registry.host}/{repo}:v1"
    digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{tmp.name}"), tmp)
    cosign_sign(cosign_bin, registry, f"{registry.host}/{repo}@{digest}", key, fmt, tmp)
    return ref, digest


def _fails(registry: LocalRegistry, ref: str, key: SigningKey, **kw: object) -> WasmgateError:
    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    with pytest.raises(WasmgateError) as error:
        _verify(registry, resolved, key, **kw)  # type: ignore[arg-type]
    return error.value


def test_unsigned(registries: Registries, keys: dict[str, SigningKey], tmp_path: Path) -> None:
    registry = registries["oci"]
    ref = f"{registry.host}/fail/unsigned:v1"
    digest = push_cncf(registry, ref, wasm_bytes(ref), tmp_path)

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is SignatureMissing and error.reason == "SignatureMissing"
    assert f"@{digest} is not signed" in error.message
    assert f"cosign sign --key cosign.key {registry.host}/fail/unsigned@{digest}" in error.message


@pytest.mark.parametrize("fmt", [LEGACY, BUNDLE])
def test_signed_by_another_key(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path, fmt: str
) -> None:
    registry = registries["distribution"]
    ref, _ = _signed(registry, cosign_bin, keys["other"], tmp_path, f"fail/other-{fmt}", fmt)

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is SignatureUntrusted
    assert "no signature verifies with plugin keys" in error.message
    assert "not signed by any key of plugin keys" in error.message
    if fmt == BUNDLE:
        assert f"it names key {keys['other'].trusted().fingerprint[:16]}" in error.message


def test_signature_copied_from_another_digest(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
) -> None:
    registry = registries["oci"]
    signed_ref, signed = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/copied-from")
    ref = f"{registry.host}/fail/copied-from:v2"
    target = push_cncf(registry, ref, wasm_bytes("copy-target"), tmp_path)
    sig = f"{registry.host}/fail/copied-from:{signed.replace(':', '-')}.sig"
    run_oras(oras_bin, registry, "tag", sig, f"{target.replace(':', '-')}.sig", cwd=tmp_path)

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is SignatureDigestMismatch and error.reason == "SignatureDigestMismatch"
    assert f"signs {signed}, not {target}; it was copied from another artifact" in error.message
    assert signed_ref != ref


def test_payload_naming_another_repository(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
) -> None:
    registry = registries["distribution"]
    data = wasm_bytes("same-bytes-two-repos")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    (tmp_path / "p.wasm").write_bytes(data)
    settings = settings_for(registry)
    digest = push_wasm(
        tmp_path / "p.wasm", f"{registry.host}/fail/origin:v1", settings, created=created
    )
    again = push_wasm(
        tmp_path / "p.wasm", f"{registry.host}/fail/replayed:v1", settings, created=created
    )
    cosign_sign(
        cosign_bin,
        registry,
        f"{registry.host}/fail/origin@{digest}",
        keys["p256"],
        LEGACY,
        tmp_path,
    )
    tag = f"{digest.replace(':', '-')}.sig"
    run_oras(
        oras_bin,
        registry,
        "cp",
        f"{registry.host}/fail/origin:{tag}",
        f"{registry.host}/fail/replayed:{tag}",
        cwd=tmp_path,
    )

    error = _fails(registry, f"{registry.host}/fail/replayed:v1", keys["p256"])

    assert again == digest
    assert type(error) is SignatureIdentityMismatch and error.reason == "SignatureIdentityMismatch"
    assert (
        f"signs repository {registry.host}/fail/origin, not {registry.host}/fail/replayed"
        in error.message
    )


def test_tag_moved_to_an_unsigned_digest_is_verified_anew(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["oci"]
    ref, signed = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/moved")
    before = _verify(registry, resolve(ref, settings_for(registry)), keys["p256"])
    moved = push_cncf(registry, ref, wasm_bytes("moved-unsigned"), tmp_path)

    error = _fails(registry, ref, keys["p256"])

    assert before.digest == signed != moved
    assert type(error) is SignatureMissing
    assert f"@{moved} is not signed" in error.message


def test_corrupted_legacy_signature(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
) -> None:
    registry = registries["oci"]
    ref, digest = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/corrupt-legacy")
    sig = f"{registry.host}/fail/corrupt-legacy:{digest.replace(':', '-')}.sig"
    manifest = json.loads(run_oras(oras_bin, registry, "manifest", "fetch", sig, cwd=tmp_path))
    annotations = manifest["layers"][0]["annotations"]
    raw = bytearray(base64.b64decode(annotations["dev.cosignproject.cosign/signature"]))
    raw[-3] ^= 0x01
    annotations["dev.cosignproject.cosign/signature"] = base64.b64encode(bytes(raw)).decode()
    (tmp_path / "sig.json").write_text(json.dumps(manifest))
    run_oras(oras_bin, registry, "manifest", "push", sig, "sig.json", cwd=tmp_path)

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is SignatureUntrusted
    assert "not signed by any key of plugin keys" in error.message
    assert "or the signature is corrupted" in error.message


def test_corrupted_bundle_signature(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
) -> None:
    registry = registries["distribution"]
    ref = f"{registry.host}/fail/corrupt-bundle:v1"
    digest = push_cncf(registry, ref, wasm_bytes(ref), tmp_path)
    image = f"{registry.host}/fail/corrupt-bundle@{digest}"
    # Sign without uploading by writing the bundle to a file from another (throwaway) repo.
    cosign_sign(cosign_bin, registry, image, keys["p256"], BUNDLE, tmp_path, tmp_path / "b.json")
    bundle = json.loads((tmp_path / "b.json").read_text())
    sig = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[-3] ^= 0x01
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (tmp_path / "bad.json").write_text(json.dumps(bundle))
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    # Replace cosign's good referrer with the corrupted one in the fallback index.
    run_oras(
        oras_bin,
        registry,
        "attach",
        "--artifact-type",
        bundle_type,
        image,
        f"bad.json:{bundle_type}",
        cwd=tmp_path,
    )
    index_tag = f"{registry.host}/fail/corrupt-bundle:{digest.replace(':', '-')}"
    index = json.loads(run_oras(oras_bin, registry, "manifest", "fetch", index_tag, cwd=tmp_path))
    index["manifests"] = index["manifests"][-1:]
    (tmp_path / "index.json").write_text(json.dumps(index))
    run_oras(
        oras_bin,
        registry,
        "manifest",
        "push",
        "--media-type",
        "application/vnd.oci.image.index.v1+json",
        index_tag,
        "index.json",
        cwd=tmp_path,
    )

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is SignatureInvalid and error.reason == "SignatureInvalid"
    assert f"names trusted key {keys['p256'].trusted().fingerprint[:16]}" in error.message
    assert "does not verify; it is corrupted or was altered" in error.message


def test_tampered_signature_payload_in_storage(
    registries: Registries,
    cosign_bin: Path,
    oras_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path: Path,
) -> None:
    registry = registries["distribution"]
    ref, digest = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/tampered-payload")
    sig = f"{registry.host}/fail/tampered-payload:{digest.replace(':', '-')}.sig"
    manifest = json.loads(run_oras(oras_bin, registry, "manifest", "fetch", sig, cwd=tmp_path))
    payload = registry.blob_path(manifest["layers"][0]["digest"])
    payload.write_bytes(payload.read_bytes().replace(b"cosign", b"COSIGN"))

    error = _fails(registry, ref, keys["p256"])

    assert type(error) is DigestMismatch and error.reason == "DigestMismatch"
    assert "the registry's copy is corrupt or was tampered with" in error.message


def test_more_signatures_than_the_cap(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["oci"]
    ref, digest = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/many")
    image = f"{registry.host}/fail/many@{digest}"
    cosign_sign(cosign_bin, registry, image, keys["other"], LEGACY, tmp_path)
    cosign_sign(cosign_bin, registry, image, keys["rsa"], BUNDLE, tmp_path)

    error = _fails(registry, ref, keys["p256"], settings=TrustSettings(max_signatures=2))
    within = _verify(
        registry,
        resolve(ref, settings_for(registry)),
        keys["p256"],
        settings=TrustSettings(max_signatures=3),
    )

    assert type(error) is SignatureLimitExceeded and error.reason == "SignatureLimitExceeded"
    assert "more than 2 signatures and referrers" in error.message
    assert len(within.matches) == 1 and len(within.rejected) == 2


def test_signature_manifest_over_the_manifest_cap(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["oci"]
    ref, _ = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/big-sig")
    resolved = resolve(ref, settings_for(registry))
    small = settings_for(registry, max_manifest_bytes=resolved.manifest_size)

    with (
        RegistryClient(resolved.registry, small) as client,
        pytest.raises(SignatureLimitExceeded) as error,
    ):
        verify(resolved, KeyPolicy([keys["p256"].trusted()], "plugin keys"), client)

    assert f"the cap is {resolved.manifest_size}" in error.value.message


def test_wrong_credentials_while_verifying_are_auth_failures(
    registries: Registries, cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = registries["distribution-auth"]
    ref, _ = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/creds")
    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    wrong = parse_dockerconfigjson(registry.dockerconfig(password="wrong"))

    with (
        RegistryClient(resolved.registry, settings_for(registry), wrong) as client,
        pytest.raises(RegistryAuthFailed) as error,
    ):
        verify(resolved, KeyPolicy([keys["p256"].trusted()], "plugin keys"), client)

    assert "refused the credentials from the pull secret" in error.value.message


def test_registry_down_while_verifying_is_unavailable_not_a_verification_failure(
    cosign_bin: Path, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    registry = spawn_distribution(prepare_distribution(tmp_path, "down"), tmp_path)
    try:
        ref, _ = _signed(registry, cosign_bin, keys["p256"], tmp_path, "fail/down")
        resolved = resolve(ref, settings_for(registry))
    finally:
        stop(registry)
    settings = settings_for(registry, attempts=2, backoff=0.05)

    with (
        RegistryClient(resolved.registry, settings) as client,
        pytest.raises(RegistryUnavailable) as error,
    ):
        verify(resolved, KeyPolicy([keys["p256"].trusted()], "plugin keys"), client)

    assert not isinstance(error.value, SignatureInvalid)
    assert error.value.reason == "RegistryUnavailable" and not error.value.permanent
    assert "unreachable after 2 tries" in error.value.message
