"""Keyless signing in tests: the kit's sigstore instance and cosign signing against it.

The instance (`wasmgate_kit.sigstore_stack`) starts once per session, only for tests that ask for
the `sigstore` fixture. cosign gets an ID token from the kit's OIDC issuer, a certificate from
its Fulcio (with an SCT from its CT log) and an entry in its Rekor, exactly as in CI with the
public-good instance; its TUF client is never used (HOME and TUF_ROOT point to a scratch dir).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from support.registries import LocalRegistry
from wasmgate.trust.bundle import INTOTO_PAYLOAD_TYPE, pae
from wasmgate_kit.sigstore_stack import SigstoreStack, post_rekor_entry

COSIGN_TIMEOUT = 120.0


@dataclass(frozen=True)
class KeylessSigner:
    """cosign, the sigstore instance and a scratch directory."""

    cosign: Path
    stack: SigstoreStack
    workdir: Path

    def sign(
        self,
        registry: LocalRegistry,
        image: str,
        subject: str,
        issuer: str = "issuer-a",
        bundle_out: Path | None = None,
    ) -> None:
        """`cosign sign` keylessly as `subject` from the kit issuer `issuer` (a sigstore bundle)."""
        token = self.workdir / "token"
        token.write_text(self.stack.token(subject, issuer))
        env = {**os.environ, "HOME": str(self.workdir), "TUF_ROOT": str(self.workdir)}
        if registry.username:
            config_dir = self.workdir / f"docker-{registry.name}"
            config_dir.mkdir(exist_ok=True)
            (config_dir / "config.json").write_bytes(registry.dockerconfig())
            env["DOCKER_CONFIG"] = str(config_dir)
        argv = [
            str(self.cosign), "sign", "--yes", "--allow-http-registry",
            f"--identity-token={token}",
            f"--signing-config={self.stack.signing_config}",
            f"--trusted-root={self.stack.trusted_root}",
        ]  # fmt: skip
        if bundle_out is not None:
            argv.append(f"--bundle={bundle_out}")
        done = subprocess.run(
            [*argv, image],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.workdir,
            timeout=COSIGN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(argv)} {image} failed:\n{done.stderr}"


def _rekor_entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    """A Rekor v1 API log entry as a bundle's tlogEntries item."""
    proof = entry["verification"]["inclusionProof"]
    body = json.loads(base64.b64decode(entry["body"]))

    def b64hex(value: str) -> str:
        return base64.b64encode(bytes.fromhex(value)).decode()

    return {
        "logIndex": str(entry["logIndex"]),
        "logId": {"keyId": b64hex(entry["logID"])},
        "kindVersion": {"kind": body["kind"], "version": body["apiVersion"]},
        "integratedTime": str(entry["integratedTime"]),
        "inclusionPromise": {"signedEntryTimestamp": entry["verification"]["signedEntryTimestamp"]},
        "inclusionProof": {
            "logIndex": str(proof["logIndex"]),
            "rootHash": b64hex(proof["rootHash"]),
            "treeSize": str(proof["treeSize"]),
            "hashes": [b64hex(h) for h in proof["hashes"]],
            "checkpoint": {"envelope": proof["checkpoint"]},
        },
        "canonicalizedBody": entry["body"],
    }


def _certificate(
    stack: SigstoreStack,
    key: ec.EllipticCurvePrivateKey,
    subject: str,
    issuer: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.Certificate:
    """A Fulcio-profile certificate signed with the kit's Fulcio CA key, for any validity."""
    ca_key = serialization.load_pem_private_key(
        Path(stack.fulcio_ca_key).read_bytes(), stack.key_password.encode()
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(Path(stack.fulcio_ca_cert).read_bytes())
    issuer_value = issuer.encode()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(subject)]), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(
                ObjectIdentifier("1.3.6.1.4.1.57264.1.8"),
                bytes([0x0C, len(issuer_value)]) + issuer_value,
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA384())
    )


def handmade_bundle(
    stack: SigstoreStack,
    digest: str,
    subject: str,
    issuer: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> bytes:
    """A keyless bundle made the long way: a certificate from the kit's CA with the given
    validity (Fulcio only issues ten-minute certificates starting now), a DSSE envelope over a
    cosign statement for `digest`, and a real entry in the kit's Rekor, logged now."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(stack, key, subject, issuer, not_before, not_after)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    }
    payload = json.dumps(statement).encode()
    signature = key.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": INTOTO_PAYLOAD_TYPE,
        "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
    }
    pem = cert.public_bytes(serialization.Encoding.PEM)
    proposed = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": json.dumps(envelope),
                "verifiers": [base64.b64encode(pem).decode()],
            }
        },
    }
    entries = post_rekor_entry(stack.rekor_url, proposed)
    (entry,) = entries.values()
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {
                "rawBytes": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            },
            "tlogEntries": [_rekor_entry_json(entry)],
        },
        "dsseEnvelope": envelope,
    }
    return json.dumps(bundle).encode()
