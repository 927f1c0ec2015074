"""Read sigstore bundles (v0.3, cosign v3's default) that hold a DSSE envelope.

The envelope signs PAE(payloadType, payload) where the payload is an in-toto statement whose
subject digest is the manifest digest. cosign's statement names no repository, so for bundles
the identity check can only use a subject `name` when a signer sets one. Bundles with a
certificate are keyless: they are parsed the same way (so the digest check applies to them too)
and keep their bytes for `trust.keyless`, which verifies them with sigstore-python.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from wasmgate.errors import SignatureInvalid
from wasmgate.trust.candidates import Candidate, Discovery, SignatureFormat

BUNDLE_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = frozenset(
    {"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}
)
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


def fallback_tag(digest: str) -> str:
    """The OCI referrers fallback tag of `digest`."""
    return digest.replace(":", "-", 1)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what a DSSE signature actually signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _one_of(value: Any, allowed: frozenset[str]) -> bool:
    return isinstance(value, str) and value in allowed


def _b64(value: Any, what: str, location: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureInvalid(f"{location}: {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as e:
        raise SignatureInvalid(f"{location}: {what} is not base64") from e


def _json_object(data: bytes, what: str, location: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise SignatureInvalid(f"{location}: {what} is not JSON") from e
    if not isinstance(document, dict):
        raise SignatureInvalid(f"{location}: {what} is not a JSON object")
    return document


def _subject(statement: dict[str, Any], location: str) -> tuple[str, str | None]:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise SignatureInvalid(f"{location}: the statement must have exactly one subject")
    digests = subjects[0].get("digest")
    value = digests.get("sha256") if isinstance(digests, dict) else None
    if not isinstance(value, str):
        raise SignatureInvalid(f"{location}: the statement subject has no sha256 digest")
    name = subjects[0].get("name")
    return f"sha256:{value}", name if isinstance(name, str) and name else None


def parse_bundle(data: bytes, location: str, discovery: Discovery) -> Candidate:
    """Turn one bundle into a candidate, or raise SignatureInvalid saying why not."""
    bundle = _json_object(data, "the bundle", location)
    if not _one_of(bundle.get("mediaType"), BUNDLE_MEDIA_TYPES):
        raise SignatureInvalid(
            f"{location}: bundle mediaType {bundle.get('mediaType')!r} is not v0.3"
        )
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        raise SignatureInvalid(f"{location}: the bundle has no verificationMaterial")
    keyless = "certificate" in material or "x509CertificateChain" in material
    hint_field = material.get("publicKey")
    hint = hint_field.get("hint") if isinstance(hint_field, dict) else None
    key_hint = _b64(hint, "publicKey.hint", location).hex() if isinstance(hint, str) else None
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise SignatureInvalid(f"{location}: the bundle holds no DSSE envelope")
    payload_type = envelope.get("payloadType")
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise SignatureInvalid(f"{location}: payloadType {payload_type!r} is not in-toto")
    payload = _b64(envelope.get("payload"), "dsseEnvelope.payload", location)
    entries = envelope.get("signatures")
    if not isinstance(entries, list) or not entries:
        raise SignatureInvalid(f"{location}: the envelope has no signatures")
    signatures = tuple(
        _b64(e.get("sig") if isinstance(e, dict) else None, "signatures[].sig", location)
        for e in entries
    )
    statement = _json_object(payload, "the in-toto statement", location)
    if not _one_of(statement.get("_type"), STATEMENT_TYPES):
        raise SignatureInvalid(f"{location}: not an in-toto statement")
    predicate = statement.get("predicateType")
    if predicate != COSIGN_SIGN_PREDICATE:
        raise SignatureInvalid(
            f"{location}: predicateType {predicate!r} is an attestation, not a cosign signature "
            f"({COSIGN_SIGN_PREDICATE})"
        )
    digest, name = _subject(statement, location)
    return Candidate(
        format=SignatureFormat.BUNDLE,
        discovery=discovery,
        location=location,
        signed_bytes=pae(INTOTO_PAYLOAD_TYPE, payload),
        signatures=signatures,
        claimed_digest=digest,
        claimed_repository=name,
        key_hint=key_hint,
        bundle=data if keyless else None,
    )
