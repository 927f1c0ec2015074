"""Verify signatures of resolved digests against plugin and cluster trust policies.

Key-based verification of cosign's legacy format and of sigstore bundles, written with
`cryptography`; the registry is reached through the `SignatureStore` protocol.
"""

from wasmgate.trust.keys import TrustedKey, fingerprint, load_public_key
from wasmgate.trust.policy import (
    AllOf,
    AnyOf,
    Evidence,
    KeyPolicy,
    Match,
    Policy,
    RegistryAllowList,
)
from wasmgate.trust.settings import TrustSettings
from wasmgate.trust.store import SignatureStore, Subject
from wasmgate.trust.verify import VerificationResult, verification_key, verify

__all__ = [
    "AllOf",
    "AnyOf",
    "Evidence",
    "KeyPolicy",
    "Match",
    "Policy",
    "RegistryAllowList",
    "SignatureStore",
    "Subject",
    "TrustSettings",
    "TrustedKey",
    "VerificationResult",
    "fingerprint",
    "load_public_key",
    "verification_key",
    "verify",
]
