"""Key loading, fingerprints and the signature schemes cosign uses, including Ed25519ph."""

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from support.trust_assets import COSIGN_PUB_FINGERPRINT, asset
from wasmgate.errors import InvalidSpec
from wasmgate.trust.ed25519ph import verify_ed25519ph, verify_eddsa
from wasmgate.trust.keys import TrustedKey, load_public_key

DATA = b'{"critical":{"type":"cosign container image signature"}}'


def _pem(private: object) -> bytes:
    return private.public_key().public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _trusted(private: object) -> TrustedKey:
    return load_public_key(_pem(private), "test key")


def test_fingerprint_is_sha256_of_der_spki_as_openssl_computes_it() -> None:
    key = load_public_key(asset("cosign.pub"), "cosign.pub")
    assert key.fingerprint == COSIGN_PUB_FINGERPRINT
    assert key.algorithm == "ecdsa-p256"
    assert "cosign.pub" in repr(key) and "key=" not in repr(key)


P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
RSA = rsa.generate_private_key(65537, 2048)
ED = ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize(
    ("private", "signature", "algorithm"),
    [
        (P256, P256.sign(DATA, ec.ECDSA(hashes.SHA256())), "ecdsa-p256"),
        (P384, P384.sign(DATA, ec.ECDSA(hashes.SHA384())), "ecdsa-p384"),
        (P384, P384.sign(DATA, ec.ECDSA(hashes.SHA256())), "ecdsa-p384"),
        (RSA, RSA.sign(DATA, padding.PKCS1v15(), hashes.SHA256()), "rsa-2048"),
        (ED, ED.sign(DATA), "ed25519"),
    ],
    ids=["p256-sha256", "p384-sha384", "p384-sha256-cosign-v1", "rsa-pkcs1v15", "ed25519-pure"],
)
def test_cosign_schemes_verify_and_tampering_does_not(
    private: object, signature: bytes, algorithm: str
) -> None:
    key = _trusted(private)
    other = _trusted(ec.generate_private_key(ec.SECP256R1()))
    assert key.algorithm == algorithm
    assert key.verifies(signature, DATA)
    assert not key.verifies(signature, DATA + b" ")
    assert not key.verifies(signature[:-1] + bytes([signature[-1] ^ 1]), DATA)
    assert not other.verifies(signature, DATA)
    assert not key.verifies(b"", DATA)


def test_schemes_cosign_does_not_use_are_refused() -> None:
    pss = RSA.sign(
        DATA, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH), hashes.SHA256()
    )
    sha1 = P256.sign(DATA, ec.ECDSA(hashes.SHA1()))  # noqa: S303 - proving it is refused
    assert not _trusted(RSA).verifies(pss, DATA)
    assert not _trusted(P256).verifies(sha1, DATA)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"garbage", "not a PEM public key"),
        (
            P256.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "give cosign.pub, not the private key",
        ),
        (_pem(rsa.generate_private_key(65537, 1024)), "RSA key of 1024 bits; at least 2048"),  # noqa: S505 - proving it is refused
        (_pem(ec.generate_private_key(ec.SECP256K1())), "curve secp256k1 is not P-256"),
    ],
    ids=["garbage", "private-key", "rsa-1024", "secp256k1"],
)
def test_unusable_keys_are_invalid_spec(pem: bytes, message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        load_public_key(pem, "secret plugins/keys key cosign.pub")
    assert error.value.reason == "InvalidSpec"
    assert error.value.message.startswith("secret plugins/keys key cosign.pub: ")
    assert message in error.value.message


# RFC 8032 section 7.3, test vector "TEST abc" (Ed25519ph).
RFC_PUBLIC = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
RFC_SIGNATURE = bytes.fromhex(
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)


def test_ed25519ph_rfc8032_vector() -> None:
    assert verify_ed25519ph(RFC_PUBLIC, RFC_SIGNATURE, b"abc")
    assert not verify_ed25519ph(RFC_PUBLIC, RFC_SIGNATURE, b"abd")
    assert not verify_ed25519ph(RFC_PUBLIC, RFC_SIGNATURE[:32] + b"\xff" * 32, b"abc")
    assert not verify_ed25519ph(b"\xff" * 32, RFC_SIGNATURE, b"abc")


def test_ed25519ph_signature_verifies_through_trusted_key() -> None:
    raw = serialization.load_der_public_key(bytes.fromhex("302a300506032b6570032100") + RFC_PUBLIC)
    key = load_public_key(
        raw.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "rfc",
    )
    assert key.verifies(RFC_SIGNATURE, b"abc")
    assert (
        key.fingerprint
        == hashlib.sha256(bytes.fromhex("302a300506032b6570032100") + RFC_PUBLIC).hexdigest()
    )


@given(st.binary(max_size=200), st.integers(0, 63))
def test_pure_mode_agrees_with_cryptography(message: bytes, flip: int) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(message).digest())
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    signature = private.sign(message)
    broken = bytearray(signature)
    broken[flip] ^= 0x40
    assert verify_eddsa(public, signature, b"", message)
    assert not verify_eddsa(public, bytes(broken), b"", message)
    assert not verify_eddsa(public, signature, b"", message + b"\0")
