"""Legacy and bundle parsing on real cosign output and on named bad inputs in tests/assets/sig."""

import pytest

from support.trust_assets import SIGNED_DIGEST, SIGNED_REPOSITORY, asset, legacy_annotations
from wasmgate.errors import SignatureInvalid
from wasmgate.trust.bundle import fallback_tag, pae, parse_bundle
from wasmgate.trust.candidates import Discovery, SignatureFormat
from wasmgate.trust.identity import repository_name
from wasmgate.trust.legacy import parse_legacy, sig_tag


def test_real_legacy_signature_parses() -> None:
    candidate = parse_legacy(asset("legacy_payload.json"), legacy_annotations(), "here")
    assert candidate.format is SignatureFormat.LEGACY
    assert candidate.discovery is Discovery.SIG_TAG
    assert candidate.claimed_digest == SIGNED_DIGEST
    assert candidate.claimed_repository == SIGNED_REPOSITORY
    assert candidate.signed_bytes == asset("legacy_payload.json")
    assert len(candidate.signatures[0]) > 60


def test_real_bundle_parses_to_the_pae_of_its_statement() -> None:
    candidate = parse_bundle(asset("bundle.json"), "here", Discovery.REFERRERS_API)
    assert candidate.format is SignatureFormat.BUNDLE
    assert candidate.claimed_digest == SIGNED_DIGEST
    assert candidate.claimed_repository is None
    assert candidate.key_hint == "f5a5e65be9c40f4c960febaae94dc4dee7fac3f2f8183e3d04d20805fa485763"
    assert candidate.signed_bytes.startswith(b"DSSEv1 28 application/vnd.in-toto+json ")


@pytest.mark.parametrize(
    ("name", "digest", "repository"),
    [
        ("payload_digest_of_other_manifest.json", "sha256:" + "a" * 64, SIGNED_REPOSITORY),
        ("payload_naming_other_repository.json", SIGNED_DIGEST, "evil.example/plugins/asset"),
    ],
    ids=["other-digest", "other-repository"],
)
def test_legacy_claims_are_reported_for_the_later_checks(
    name: str, digest: str, repository: str
) -> None:
    candidate = parse_legacy(asset(name), legacy_annotations(), "here")
    assert (candidate.claimed_digest, candidate.claimed_repository) == (digest, repository)


def test_bundle_subject_name_becomes_the_claimed_repository() -> None:
    candidate = parse_bundle(
        asset("bundle_subject_naming_other_repository.json"), "here", Discovery.FALLBACK_TAG
    )
    assert candidate.claimed_repository == "127.0.0.1:15000/plugins/other"
    assert candidate.discovery is Discovery.FALLBACK_TAG


@pytest.mark.parametrize(
    ("name", "annotations", "message"),
    [
        ("payload_wrong_type.json", legacy_annotations(), "critical.type is 'atomic container"),
        (
            "payload_without_digest.json",
            legacy_annotations(),
            "lacks critical.image.docker-manifest",
        ),
        ("payload_not_json.txt", legacy_annotations(), "the payload is not JSON"),
        ("legacy_payload.json", {}, "no dev.cosignproject.cosign/signature annotation"),
        ("legacy_payload.json", legacy_annotations("!!"), "the signature annotation is not base64"),
    ],
    ids=["wrong-type", "no-digest", "not-json", "no-signature", "signature-not-base64"],
)
def test_bad_legacy_signatures(name: str, annotations: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureInvalid) as error:
        parse_legacy(asset(name), annotations, "reg/p@sha256:x layer 0")
    assert error.value.reason == "SignatureInvalid"
    assert (
        error.value.message == f"reg/p@sha256:x layer 0: {message}"
        or message in error.value.message
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bundle_attestation_predicate.json", "is an attestation, not a cosign signature"),
        ("bundle_two_subjects.json", "must have exactly one subject"),
        ("bundle_message_signature.json", "holds no DSSE envelope"),
        ("bundle_v01_media_type.json", "is not v0.3"),
        ("bundle_not_intoto.json", "payloadType 'text/plain' is not in-toto"),
        ("bundle_without_signatures.json", "the envelope has no signatures"),
        ("legacy_payload.json", "bundle mediaType None is not v0.3"),
        ("payload_not_json.txt", "the bundle is not JSON"),
    ],
    ids=[
        "attestation",
        "two-subjects",
        "message-signature",
        "v0.1",
        "not-intoto",
        "no-signatures",
        "not-a-bundle",
        "not-json",
    ],
)
def test_bad_bundles(name: str, message: str) -> None:
    with pytest.raises(SignatureInvalid) as error:
        parse_bundle(asset(name), "reg/p@sha256:x", Discovery.REFERRERS_API)
    assert error.value.reason == "SignatureInvalid"
    assert error.value.message.startswith("reg/p@sha256:x: ")
    assert message in error.value.message


def test_keyless_bundle_keeps_its_bytes_for_sigstore() -> None:
    data = asset("bundle_keyless_certificate.json")
    candidate = parse_bundle(data, "reg/p@sha256:x", Discovery.REFERRERS_API)
    assert candidate.bundle == data
    assert candidate.key_hint is None
    assert candidate.claimed_digest.startswith("sha256:")


def test_tags_and_pae() -> None:
    digest = "sha256:" + "ab" * 32
    assert sig_tag(digest) == "sha256-" + "ab" * 32 + ".sig"
    assert fallback_tag(digest) == "sha256-" + "ab" * 32
    assert pae("t", b"hello") == b"DSSEv1 1 t 5 hello"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("busybox", "docker.io/library/busybox"),
        ("index.docker.io/org/x:v1", "docker.io/org/x"),
        ("127.0.0.1:5000/a/b@sha256:" + "0" * 64, "127.0.0.1:5000/a/b"),
        ("Reg.IO/a/b:v1", "reg.io/a/b"),
    ],
    ids=["hub-official", "hub-alias-tag", "port-digest", "host-case"],
)
def test_repository_name(text: str, name: str) -> None:
    assert repository_name(text) == name
