"""Trusted public keys: load PEM, name them by fingerprint, check signatures as cosign makes them.

The fingerprint is the sha256 of the DER SubjectPublicKeyInfo, the same value cosign puts
(base64) in a bundle's `publicKey.hint`, so status can name the key a user holds.
Signature schemes follow cosign's defaults per key type: ECDSA with the curve's hash (and
SHA-256, which cosign 1.x/2.x used for every curve), RSA PKCS#1 v1.5 with SHA-256, and Ed25519
both pure and pre-hashed (cosign signs with Ed25519ph by default).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from wasmgate.errors import InvalidSpec
from wasmgate.trust.ed25519ph import verify_ed25519ph

_CURVE_HASHES: dict[str, tuple[type[hashes.HashAlgorithm], ...]] = {
    "secp256r1": (hashes.SHA256,),
    "secp384r1": (hashes.SHA384, hashes.SHA256),
    "secp521r1": (hashes.SHA512, hashes.SHA256),
}
MIN_RSA_BITS = 2048


def fingerprint(key: PublicKeyTypes) -> str:
    """Hex sha256 of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class TrustedKey:
    """A public key a policy trusts, with where it came from."""

    name: str
    """Where the key came from, e.g. `secret wasmgate/plugin-keys key cosign.pub`."""
    fingerprint: str
    """Hex sha256 of the DER SubjectPublicKeyInfo."""
    algorithm: str
    """`ecdsa-p256`, `ecdsa-p384`, `ecdsa-p521`, `rsa-<bits>` or `ed25519`."""
    key: PublicKeyTypes = field(repr=False, compare=False)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` over `data` was made by this key in a scheme cosign uses."""
        key = self.key
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                return any(_ecdsa(key, signature, data, h()) for h in _CURVE_HASHES[key.curve.name])
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
                return True
            if isinstance(key, ed25519.Ed25519PublicKey):
                return _ed25519(key, signature, data)
        except (InvalidSignature, ValueError):
            return False
        return False


def _ecdsa(
    key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm
) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(algorithm))
    except InvalidSignature:
        return False
    return True


def _ed25519(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        pass
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return verify_ed25519ph(raw, signature, data)


def load_public_key(pem: bytes | str, name: str) -> TrustedKey:
    """Parse one PEM public key; refuse types and sizes cosign would not sign with."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise InvalidSpec(
            f"{name}: not a PEM public key (-----BEGIN PUBLIC KEY-----); give cosign.pub, "
            "not the private key"
        ) from e
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASHES:
            raise InvalidSpec(f"{name}: curve {key.curve.name} is not P-256, P-384 or P-521")
        algorithm = "ecdsa-p" + key.curve.name[4:7]
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidSpec(f"{name}: RSA key of {key.key_size} bits; at least 2048 needed")
        algorithm = f"rsa-{key.key_size}"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "ed25519"
    else:
        raise InvalidSpec(f"{name}: key type {type(key).__name__} is not ECDSA, RSA or Ed25519")
    return TrustedKey(name=name, fingerprint=fingerprint(key), algorithm=algorithm, key=key)
