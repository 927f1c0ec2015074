"""The documents that tell sigstore clients about the kit's private sigstore instance.

`trusted_root.json` (sigstore's TrustedRoot v0.1, what `cosign trusted-root create` writes) holds
the Fulcio CA chain, the Rekor and CT log public keys with their log IDs; verifiers (wasmgate,
cosign) trust exactly this. `signing_config.json` (SigningConfig v0.2) names the service URLs
cosign signs against. Both are pure functions of keys, certificates and URLs.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
OPERATOR = "wasmgate-kit"


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_details(key: PublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}[key.curve.name]
        hash_bits = {256: 256, 384: 384, 521: 512}[bits]
        return f"PKIX_ECDSA_P{bits}_SHA_{hash_bits}"
    raise ValueError(f"the kit's logs sign with ECDSA; got {type(key).__name__}")


def log_id(key: PublicKeyTypes) -> bytes:
    """A Rekor v1 or RFC 6962 log's ID: the SHA-256 of its DER SubjectPublicKeyInfo."""
    return hashlib.sha256(_der(key)).digest()


def _log(url: str, key: PublicKeyTypes, since: datetime.datetime) -> dict[str, Any]:
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": _b64(_der(key)),
            "keyDetails": _key_details(key),
            "validFor": {"start": _rfc3339(since)},
        },
        "logId": {"keyId": _b64(log_id(key))},
    }


def trusted_root(
    *,
    fulcio_url: str,
    fulcio_chain: list[x509.Certificate],
    rekor_url: str,
    rekor_key: PublicKeyTypes,
    ct_url: str,
    ct_key: PublicKeyTypes,
    since: datetime.datetime,
) -> dict[str, Any]:
    """A TrustedRoot for one Fulcio (chain leaf-most first, root last), one Rekor v1 log and one
    CT log, all valid from `since` on; no timestamp authority (Rekor v1's signed entry timestamp
    is the time source)."""
    root = fulcio_chain[-1]
    return {
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [_log(rekor_url, rekor_key, since)],
        "certificateAuthorities": [
            {
                "subject": {"organization": OPERATOR, "commonName": _common_name(root)},
                "uri": fulcio_url,
                "certChain": {
                    "certificates": [
                        {"rawBytes": _b64(c.public_bytes(serialization.Encoding.DER))}
                        for c in fulcio_chain
                    ]
                },
                "validFor": {"start": _rfc3339(since)},
            }
        ],
        "ctlogs": [_log(ct_url, ct_key, since)],
        "timestampAuthorities": [],
    }


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode()


def _service(url: str, since: datetime.datetime) -> dict[str, Any]:
    return {
        "url": url,
        "majorApiVersion": 1,
        "validFor": {"start": _rfc3339(since)},
        "operator": OPERATOR,
    }


def signing_config(
    *, fulcio_url: str, oidc_url: str, rekor_url: str, since: datetime.datetime
) -> dict[str, Any]:
    """A SigningConfig naming the kit's Fulcio, issuer and Rekor v1 log, and no TSA."""
    return {
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [_service(fulcio_url, since)],
        "oidcUrls": [_service(oidc_url, since)],
        "rekorTlogUrls": [_service(rekor_url, since)],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaUrls": [],
        "tsaConfig": {"selector": "ANY"},
    }
