"""Damaged manifests, payloads and bundles always end in a WasmgateError, never anything else."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.artifacts import push_cncf, settings_for, wasm_bytes
from support.local_registries import Registries
from support.registries import LocalRegistry
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign
from support.trust_assets import SIGNED_DIGEST, asset, legacy_annotations
from support.trust_mutations import mutated_bundle, mutated_bytes, mutated_json, mutated_payload
from wasmgate.errors import WasmgateError
from wasmgate.oci import RegistryClient, Resolved, resolve
from wasmgate.oci.layout import detect_layout
from wasmgate.oci.manifest import OCI_INDEX, OCI_MANIFEST, parse_manifest
from wasmgate.trust import Evidence, KeyPolicy, load_public_key, verify
from wasmgate.trust.bundle import BUNDLE_ARTIFACT_TYPE, fallback_tag, parse_bundle
from wasmgate.trust.candidates import Discovery
from wasmgate.trust.legacy import SIMPLESIGNING, parse_legacy, sig_tag

KEY = load_public_key(asset("cosign.pub"), "cosign.pub")
POLICY = KeyPolicy([KEY], "plugin keys")
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.wasm.config.v0+json",
            "digest": "sha256:" + "1" * 64,
            "size": 161,
        },
        "layers": [
            {
                "mediaType": "application/wasm",
                "digest": "sha256:" + "2" * 64,
                "size": 8,
                "annotations": {"org.opencontainers.image.title": "p.wasm"},
            }
        ],
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    }
).encode()


def _judge(candidate_source: object) -> None:
    """Parse, then let the policy judge whatever parsed; only WasmgateErrors may escape."""
    candidate = candidate_source() if callable(candidate_source) else candidate_source
    POLICY.verify(Evidence("127.0.0.1:15000/plugins/asset", SIGNED_DIGEST, [candidate]))


@given(
    st.one_of(
        mutated_bytes(MANIFEST),
        mutated_json(json.loads(MANIFEST)).map(lambda d: json.dumps(d).encode()),
    )
)
@settings(max_examples=300)
def test_mutated_manifests_give_a_clear_error(data: bytes) -> None:
    try:
        detect_layout(parse_manifest(data, "sha256:" + "f" * 64, None, 16))
    except WasmgateError as e:
        assert e.reason in {"ArtifactInvalid", "ArtifactTooLarge"}
        assert e.message


@given(
    mutated_payload(asset("legacy_payload.json")), st.one_of(st.just(None), st.text(max_size=20))
)
@settings(max_examples=300)
def test_mutated_legacy_payloads_give_a_clear_error(payload: bytes, signature: str | None) -> None:
    try:
        _judge(lambda: parse_legacy(payload, legacy_annotations(signature), "here"))
    except WasmgateError as e:
        assert e.reason.startswith("Signature") and e.message


@given(mutated_bundle(asset("bundle.json")))
@settings(max_examples=300)
def test_mutated_bundles_give_a_clear_error(bundle: bytes) -> None:
    try:
        _judge(lambda: parse_bundle(bundle, "here", Discovery.REFERRERS_API))
    except WasmgateError as e:
        assert e.reason.startswith("Signature") and e.message


# -- the same, end to end through a real registry ---------------------------------------------


@dataclass
class Signed:
    registry: LocalRegistry
    resolved: Resolved
    key: SigningKey
    payload: bytes
    annotations: dict[str, str]
    bundle: bytes


@pytest.fixture(scope="module")
def signed(
    registries: Registries,
    cosign_bin: Path,
    keys: dict[str, SigningKey],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Signed]:
    registry = registries["distribution"]
    tmp = tmp_path_factory.mktemp("mutations")
    ref = f"{registry.host}/mutations/p:v1"
    digest = push_cncf(registry, ref, wasm_bytes("mutations"), tmp)
    image = f"{registry.host}/mutations/p@{digest}"
    cosign_sign(cosign_bin, registry, image, keys["p256"], LEGACY, tmp)
    cosign_sign(cosign_bin, registry, image, keys["p256"], BUNDLE, tmp, tmp / "bundle.json")
    resolved = resolve(ref, settings_for(registry))
    with RegistryClient(registry.host, settings_for(registry)) as client:
        manifest = client.manifest(resolved.repository, sig_tag(digest))
        layer = manifest.layers[0]
        payload = client.blob_bytes(resolved.repository, layer, 65536)
    yield Signed(
        registry,
        resolved,
        keys["p256"],
        payload,
        dict(layer.annotations),
        (tmp / "bundle.json").read_bytes(),
    )


def _descriptor(
    client: RegistryClient, repository: str, data: bytes, media_type: str
) -> dict[str, object]:
    blob = client.put_blob(repository, data)
    return {"mediaType": media_type, "digest": blob.digest, "size": blob.size}


def _publish(signed: Signed, payload: bytes, annotations: dict[str, str], bundle: bytes) -> None:
    """Replace the .sig image and the fallback index with ones holding the damaged content."""
    repo, digest = signed.resolved.repository, signed.resolved.digest
    with RegistryClient(signed.registry.host, settings_for(signed.registry)) as client:
        empty = _descriptor(client, repo, b"{}", "application/vnd.oci.image.config.v1+json")
        layer = {**_descriptor(client, repo, payload, SIMPLESIGNING), "annotations": annotations}
        sig = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": empty, "layers": [layer]}
        client.put_manifest(repo, sig_tag(digest), json.dumps(sig).encode(), OCI_MANIFEST)
        referrer = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_ARTIFACT_TYPE,
            "config": {**empty, "mediaType": "application/vnd.oci.empty.v1+json"},
            "layers": [_descriptor(client, repo, bundle, BUNDLE_ARTIFACT_TYPE)],
        }
        data = json.dumps(referrer).encode()
        referrer_digest = client.put_manifest(
            repo, "sha256:" + hashlib.sha256(data).hexdigest(), data, OCI_MANIFEST
        )
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": referrer_digest,
                    "size": len(data),
                    "artifactType": BUNDLE_ARTIFACT_TYPE,
                }
            ],
        }
        client.put_manifest(repo, fallback_tag(digest), json.dumps(index).encode(), OCI_INDEX)


@given(st.data())
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_mutated_signatures_in_a_real_registry_give_a_clear_error(
    signed: Signed, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(st.just(signed.payload), mutated_payload(signed.payload)))
    annotations = data.draw(
        st.one_of(st.just(signed.annotations), mutated_json(signed.annotations))
    )
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        annotations = {}
    bundle = data.draw(mutated_bundle(signed.bundle))
    _publish(signed, payload, annotations, bundle)
    policy = KeyPolicy([signed.key.trusted()], "plugin keys")
    with RegistryClient(signed.registry.host, settings_for(signed.registry)) as client:
        try:
            result = verify(signed.resolved, policy, client)
        except WasmgateError as e:
            assert e.message
        else:
            assert result.matches and result.digest == signed.resolved.digest
