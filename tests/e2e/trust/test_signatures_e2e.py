"""Verify plugins signed by the real cosign and stored in real registries, in every format."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from support.artifacts import (
    ORAS_MEDIA_TYPES,
    credentials_for,
    push_cncf,
    push_layout,
    settings_for,
    wasm_bytes,
)
from support.local_registries import Registries, distribution_registry
from support.registries import LocalRegistry
from support.signature_cases import Tools, failure_cases, push_signed
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign
from wasmgate.errors import (
    RegistryAuthFailed,
    RegistryUnavailable,
    SignatureInvalid,
    SignatureMissing,
    SignatureUntrusted,
    WasmgateError,
)
from wasmgate.oci import RegistryClient, Resolved, parse_dockerconfigjson, resolve
from wasmgate.trust import AllOf, AnyOf, KeyPolicy, TrustSettings, VerificationResult, verify
from wasmgate.trust.candidates import Discovery, SignatureFormat

pytestmark = pytest.mark.e2e

LAYOUTS = {"cncf": "cncf", "oras": f"oras:{ORAS_MEDIA_TYPES[1]}", "compat": "compat"}


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


@pytest.mark.parametrize("fmt", [LEGACY, BUNDLE])
@pytest.mark.parametrize("layout", list(LAYOUTS))
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
    data = wasm_bytes(f"{ref}-{layout}")
    digest = push_layout(LAYOUTS[layout], oras_bin, registry, ref, data, tmp_path)
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

SIGNATURE_CAP = 4
MANIFEST_CAP = 64 * 1024
FAILURES = failure_cases(SIGNATURE_CAP, MANIFEST_CAP)


@pytest.fixture
def tools(cosign_bin: Path, oras_bin: Path, keys: dict[str, SigningKey], tmp_path: Path) -> Tools:
    return Tools(cosign_bin, oras_bin, keys["p256"], keys["other"], tmp_path)


def _fails(registry: LocalRegistry, ref: str, key: SigningKey) -> WasmgateError:
    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    capped = settings_for(registry, max_manifest_bytes=MANIFEST_CAP)
    with (
        RegistryClient(resolved.registry, capped, credentials_for(registry)) as client,
        pytest.raises(WasmgateError) as error,
    ):
        policy = KeyPolicy([key.trusted()], "plugin keys")
        verify(resolved, policy, client, TrustSettings(max_signatures=SIGNATURE_CAP))
    return error.value


@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
def test_a_bad_signature_fails_with_its_own_reason(
    registries: Registries, tools: Tools, case: str
) -> None:
    name, setup = FAILURES[case]
    registry = registries[name]
    bad = setup(tools, registry, f"fail/{case}")

    error = _fails(registry, bad.ref, tools.trusted)

    assert error.reason == bad.reason, error.message
    assert type(error).reason == bad.reason
    for fragment in bad.fragments:
        assert fragment in error.message
    assert error.permanent


def test_tag_moved_to_an_unsigned_digest_is_verified_anew(
    registries: Registries, tools: Tools, tmp_path: Path
) -> None:
    registry = registries["oci"]
    ref, signed = push_signed(tools, registry, "fail/moved")
    before = _verify(registry, resolve(ref, settings_for(registry)), tools.trusted)
    moved = push_cncf(registry, ref, wasm_bytes("moved-unsigned"), tmp_path)

    error = _fails(registry, ref, tools.trusted)

    assert before.digest == signed != moved
    assert type(error) is SignatureMissing
    assert f"@{moved} is not signed" in error.message


def test_within_the_signature_cap_every_candidate_is_examined(
    registries: Registries, tools: Tools, keys: dict[str, SigningKey]
) -> None:
    registry = registries["oci"]
    ref, digest = push_signed(tools, registry, "fail/many")
    image = f"{registry.host}/fail/many@{digest}"
    tools.sign(registry, image, keys["other"], LEGACY)
    tools.sign(registry, image, keys["rsa"], BUNDLE)

    within = _verify(
        registry,
        resolve(ref, settings_for(registry)),
        tools.trusted,
        settings=TrustSettings(max_signatures=3),
    )

    assert len(within.matches) == 1 and len(within.rejected) == 2
    assert within.primary.fingerprint == tools.trusted.trusted().fingerprint


def test_wrong_credentials_while_verifying_are_auth_failures(
    registries: Registries, tools: Tools
) -> None:
    registry = registries["distribution-auth"]
    ref, _ = push_signed(tools, registry, "fail/creds")
    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    wrong = parse_dockerconfigjson(registry.dockerconfig(password="wrong"))

    with (
        RegistryClient(resolved.registry, settings_for(registry), wrong) as client,
        pytest.raises(RegistryAuthFailed) as error,
    ):
        verify(resolved, KeyPolicy([tools.trusted.trusted()], "plugin keys"), client)

    assert "refused the credentials from the pull secret" in error.value.message


def test_registry_down_while_verifying_is_unavailable_not_a_verification_failure(
    tools: Tools, tmp_path: Path
) -> None:
    registry = distribution_registry(tmp_path, "down")
    registry.start()
    try:
        ref, _ = push_signed(tools, registry, "fail/down")
        resolved = resolve(ref, settings_for(registry))
    finally:
        registry.stop()
    settings = settings_for(registry, attempts=2, backoff=0.05)

    with (
        RegistryClient(resolved.registry, settings) as client,
        pytest.raises(RegistryUnavailable) as error,
    ):
        verify(resolved, KeyPolicy([tools.trusted.trusted()], "plugin keys"), client)

    assert not isinstance(error.value, SignatureInvalid)
    assert error.value.reason == "RegistryUnavailable" and not error.value.permanent
    assert "unreachable after 2 tries" in error.value.message
