"""Kit sigstore documents: a trusted root sigstore-python accepts, tokens the JWKS verifies."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from wasmgate.errors import InvalidSpec
from wasmgate.trust.trusted_root import load_trusted_root
from wasmgate_kit import oidc_issuer, sigstore_root

SINCE = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)


def _ca() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(SINCE)
        .not_valid_after(SINCE + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA384())
    )


def _root(rekor: ec.EllipticCurvePrivateKey, ct: ec.EllipticCurvePrivateKey) -> bytes:
    document = sigstore_root.trusted_root(
        fulcio_url="http://127.0.0.1:1",
        fulcio_chain=[_ca()],
        rekor_url="http://127.0.0.1:2",
        rekor_key=rekor.public_key(),
        ct_url="http://127.0.0.1:3/x",
        ct_key=ct.public_key(),
        since=SINCE,
    )
    return json.dumps(document).encode()


def test_trusted_root_is_accepted_by_sigstore_python() -> None:
    rekor, ct = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    data = _root(rekor, ct)
    root = load_trusted_root(data, "kit root")
    assert root.root.get_fulcio_certs()[0].subject.rfc4514_string() == "CN=test-fulcio"
    document = json.loads(data)
    (tlog,) = document["tlogs"]
    assert base64.b64decode(tlog["logId"]["keyId"]) == sigstore_root.log_id(rekor.public_key())
    assert tlog["publicKey"]["keyDetails"] == "PKIX_ECDSA_P256_SHA_256"
    assert tlog["publicKey"]["validFor"] == {"start": "2026-11-01T00:00:00Z"}
    assert document["ctlogs"][0]["baseUrl"] == "http://127.0.0.1:3/x"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "kit root: not a usable sigstore trusted root"),
        (b'{"mediaType": "application/x"}', "kit root: not a usable sigstore trusted root"),
        (
            json.dumps(
                {"mediaType": sigstore_root.TRUSTED_ROOT_MEDIA_TYPE, "tlogs": [], "ctlogs": []}
            ).encode(),
            "not a usable sigstore trusted root",
        ),
    ],
    ids=["not-json", "wrong-media-type", "nothing-in-it"],
)
def test_broken_trusted_roots_are_invalid_spec(data: bytes, message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        load_trusted_root(data, "kit root")
    assert error.value.reason == "InvalidSpec"
    assert message in error.value.message


def test_signing_config_names_the_services() -> None:
    config = sigstore_root.signing_config(
        fulcio_url="http://f", oidc_url="http://o", rekor_url="http://r", since=SINCE
    )
    assert config["mediaType"] == sigstore_root.SIGNING_CONFIG_MEDIA_TYPE
    assert [s["url"] for s in config["caUrls"]] == ["http://f"]
    assert [s["url"] for s in config["rekorTlogUrls"]] == ["http://r"]
    assert config["tsaUrls"] == []


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_id_token_verifies_with_the_published_jwks() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = oidc_issuer.id_token(key, "http://127.0.0.1:9/issuer-a", "alice@example.test", now=1e9)
    header, claims, signature = token.split(".")
    (jwk,) = oidc_issuer.jwks(key)["keys"]
    public = rsa.RSAPublicNumbers(
        int.from_bytes(_b64url_decode(jwk["e"]), "big"),
        int.from_bytes(_b64url_decode(jwk["n"]), "big"),
    ).public_key()
    public.verify(
        _b64url_decode(signature),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    decoded = json.loads(_b64url_decode(claims))
    assert decoded["iss"] == "http://127.0.0.1:9/issuer-a"
    assert (decoded["sub"], decoded["email"], decoded["email_verified"]) == (
        "alice@example.test",
        "alice@example.test",
        True,
    )
    assert decoded["aud"] == oidc_issuer.DEFAULT_AUDIENCE
    assert decoded["exp"] - decoded["iat"] == oidc_issuer.TOKEN_LIFETIME_SECONDS
    assert json.loads(_b64url_decode(header))["kid"] == jwk["kid"]
    assert oidc_issuer.discovery("http://i")["jwks_uri"] == "http://i/jwks"
