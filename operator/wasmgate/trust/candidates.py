"""The unit of evidence: one signature found in the registry, reduced to what verification needs.

Both formats become the same shape (the exact bytes that were signed, the signatures over them,
what the payload claims), so the digest, identity and key checks are written once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SignatureFormat(enum.StrEnum):
    """How the signature is stored; recorded in status."""

    LEGACY = "cosign-legacy"
    BUNDLE = "sigstore-bundle"


class Discovery(enum.StrEnum):
    """How the signature was found; recorded in status."""

    SIG_TAG = "tag sha256-<hex>.sig"
    REFERRERS_API = "referrers API"
    FALLBACK_TAG = "referrers fallback tag sha256-<hex>"


class SignatureCheck(enum.IntEnum):
    """The checks a candidate passes, in order; a rejection names the one it failed, and the
    furthest failure decides the overall reason."""

    READ = 1
    DIGEST = 2
    IDENTITY = 3
    KEY = 4


@dataclass(frozen=True)
class Candidate:
    """One signature: the signed bytes, the signatures over them, and the payload's claims."""

    format: SignatureFormat
    discovery: Discovery
    location: str
    """Where it is, e.g. `registry/repo@sha256:... layer 0`."""
    signed_bytes: bytes
    """Exactly what the signature covers: the payload (legacy) or the DSSE PAE (bundle)."""
    signatures: tuple[bytes, ...]
    claimed_digest: str
    """The manifest digest the payload says it signs."""
    claimed_repository: str | None
    """The repository the payload names, when the format carries one."""
    key_hint: str | None = None
    """Hex fingerprint of the signing key, when the bundle names it."""
    bundle: bytes | None = None
    """The whole bundle when it is keyless (carries a certificate): sigstore-python verifies it."""


@dataclass(frozen=True)
class Rejection:
    """Why one candidate (or one place we looked) did not count."""

    location: str
    failed_check: SignatureCheck
    reason: str
    """A `WasmgateError` reason, e.g. `SignatureDigestMismatch`."""
    message: str
    format: SignatureFormat | None = None
    discovery: Discovery | None = None
