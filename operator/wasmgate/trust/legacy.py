"""Read cosign's original signature format: simple-signing payloads in a `sha256-<hex>.sig` image.

Each layer of that image is one signature: the layer blob is the JSON payload
(`critical.image.docker-manifest-digest`, `critical.identity.docker-reference`,
`critical.type`), and the layer annotation `dev.cosignproject.cosign/signature` is the base64
signature over the exact payload bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from wasmgate.errors import SignatureInvalid
from wasmgate.trust.candidates import Candidate, Discovery, SignatureFormat

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_TYPE = "cosign container image signature"


def sig_tag(digest: str) -> str:
    """The tag cosign stores legacy signatures of `digest` under."""
    return digest.replace(":", "-", 1) + ".sig"


def _field(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def parse_legacy(payload: bytes, annotations: Mapping[str, str], location: str) -> Candidate:
    """Turn one simple-signing layer into a candidate, or raise SignatureInvalid saying why not."""
    encoded = annotations.get(SIGNATURE_ANNOTATION)
    if not encoded:
        raise SignatureInvalid(f"{location}: no {SIGNATURE_ANNOTATION} annotation")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError as e:
        raise SignatureInvalid(f"{location}: the signature annotation is not base64") from e
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise SignatureInvalid(f"{location}: the payload is not JSON") from e
    kind = _field(document, "critical", "type")
    digest = _field(document, "critical", "image", "docker-manifest-digest")
    reference = _field(document, "critical", "identity", "docker-reference")
    if kind != COSIGN_TYPE:
        raise SignatureInvalid(f"{location}: critical.type is {kind!r}, not {COSIGN_TYPE!r}")
    if not isinstance(digest, str) or not isinstance(reference, str):
        raise SignatureInvalid(
            f"{location}: the payload lacks critical.image.docker-manifest-digest or "
            "critical.identity.docker-reference"
        )
    return Candidate(
        format=SignatureFormat.LEGACY,
        discovery=Discovery.SIG_TAG,
        location=location,
        signed_bytes=payload,
        signatures=(signature,),
        claimed_digest=digest,
        claimed_repository=reference,
    )
