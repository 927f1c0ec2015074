"""Real cosign output kept in tests/assets/sig: a key, a legacy signature and a bundle."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sig"
SIGNED_DIGEST = (ASSETS / "signed_digest.txt").read_text().strip()
SIGNED_REPOSITORY = "127.0.0.1:15000/plugins/asset"
# sha256 of the DER SubjectPublicKeyInfo of cosign.pub, computed with
# `openssl pkey -pubin -in cosign.pub -outform DER | sha256sum`.
COSIGN_PUB_FINGERPRINT = "f5a5e65be9c40f4c960febaae94dc4dee7fac3f2f8183e3d04d20805fa485763"


def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


def legacy_annotations(signature: str | None = None) -> dict[str, str]:
    value = signature if signature is not None else asset("legacy_signature.b64").decode().strip()
    return {"dev.cosignproject.cosign/signature": value}
