"""Keyless signatures: a Fulcio certificate for an OIDC identity, logged in Rekor, checked offline.

sigstore-python does the cryptography against an explicit trusted root (certificate chain at the
log's signed time, SCT from a trusted CT log, Rekor inclusion proof, checkpoint and signed entry
timestamp, DSSE signature, consistency of the log entry with the bundle); nothing it calls here
reaches the network. This module adds what a cluster policy needs on top: which identities count
(issuer compared exactly, subject exact or a fully anchored regular expression, any of a list),
and messages that name the identity that signed next to the ones that were wanted.

The steps for each keyless candidate, one helper each:
1. parse the bundle (sigstore's model);
2. verify it cryptographically against the trusted root (`Verifier.verify_dsse`);
3. check the envelope is the one whose digest the earlier stages checked;
4. read the certificate's identity (SAN) and issuer (Fulcio extension);
5. match them against the allowed identities.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ObjectIdentifier
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle
from sigstore.verify import Verifier

from wasmgate.errors import InvalidSpec, SignatureInvalid, SignatureUntrusted, WasmgateError
from wasmgate.trust.bundle import pae
from wasmgate.trust.candidates import Candidate, Rejection, SignatureCheck
from wasmgate.trust.policy import Evidence, Match
from wasmgate.trust.trusted_root import TrustedRoot

# Fulcio's certificate extensions for the OIDC issuer: v2 (DER UTF8String) and the deprecated v1
# (raw bytes), https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_UTF8_STRING_TAG = 0x0C
KEYLESS_ALGORITHM = "keyless"


@dataclass(frozen=True)
class KeylessIdentity:
    """One allowed signer: an issuer and a subject, exact or a regular expression."""

    issuer: str
    subject: str | None = None
    subject_regexp: str | None = None

    def __post_init__(self) -> None:
        if (self.subject is None) == (self.subject_regexp is None):
            raise InvalidSpec(
                f"keyless identity for issuer {self.issuer}: give exactly one of subject and "
                "subjectRegExp"
            )
        if self.subject_regexp is not None:
            try:
                re.compile(self.subject_regexp)
            except re.error as e:
                raise InvalidSpec(
                    f"keyless identity for issuer {self.issuer}: subjectRegExp "
                    f"{self.subject_regexp!r} is not a regular expression ({e})"
                ) from e

    def matches(self, subject: str, issuer: str) -> bool:
        if issuer != self.issuer:
            return False
        if self.subject is not None:
            return subject == self.subject
        # Anchored for the user, as cosign's --certificate-identity-regexp users expect a match
        # of the whole subject, not of a substring.
        return re.fullmatch(self.subject_regexp or "", subject) is not None

    def describe(self) -> str:
        wanted = self.subject if self.subject is not None else f"/{self.subject_regexp}/"
        return f"{wanted} from {self.issuer}"

    def identity(self) -> str:
        kind = "subject" if self.subject is not None else "regexp"
        return f"{self.issuer}|{kind}={self.subject or self.subject_regexp}"


@dataclass(frozen=True)
class Signer:
    """Who a verified keyless certificate says signed."""

    subject: str
    issuer: str
    certificate_sha256: str

    def describe(self) -> str:
        return f"{self.subject} from {self.issuer}"


def decode_der_utf8(value: bytes) -> str:
    """Decode a DER UTF8String (tag, length, bytes)."""
    if len(value) < 2 or value[0] != _UTF8_STRING_TAG:
        raise ValueError("not a DER UTF8String")
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    if offset + length != len(value):
        raise ValueError("DER UTF8String length does not match")
    return value[offset:].decode()


def _issuer(cert: x509.Certificate) -> str:
    for oid, decode in ((_ISSUER_V2, decode_der_utf8), (_ISSUER_V1, bytes.decode)):
        try:
            extension = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = extension.value if isinstance(extension, x509.UnrecognizedExtension) else b""
        return decode(raw)
    raise SignatureInvalid("the certificate names no OIDC issuer (Fulcio extension 57264.1.8)")


def _subject(cert: x509.Certificate) -> str:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as e:
        raise SignatureInvalid("the certificate has no subject alternative name") from e
    values: list[str] = [
        *names.get_values_for_type(x509.RFC822Name),
        *names.get_values_for_type(x509.UniformResourceIdentifier),
        *(decode_der_utf8(other.value) for other in names.get_values_for_type(x509.OtherName)),
    ]
    if len(values) != 1:
        raise SignatureInvalid(f"the certificate names {len(values)} subjects, not exactly one")
    return values[0]


class _CaptureCertificate:
    """A sigstore VerificationPolicy that accepts any identity and remembers the certificate:
    identities are matched afterwards, so a mismatch can name the signer."""

    def __init__(self) -> None:
        self.certificate: x509.Certificate | None = None

    def verify(self, cert: x509.Certificate) -> None:
        self.certificate = cert


def verify_keyless(candidate: Candidate, root: TrustedRoot) -> Signer:
    """Steps 1-4 for one candidate: the signer, or SignatureInvalid saying why not."""
    if candidate.bundle is None:
        raise SignatureInvalid(f"{candidate.location}: not a keyless (certificate) signature")
    # 1. parse the bundle.
    try:
        bundle = Bundle.from_json(candidate.bundle)
    except (SigstoreError, ValueError) as e:
        raise SignatureInvalid(f"{candidate.location}: not a valid sigstore bundle ({e})") from e
    # 2. verify it against the trusted root, offline.
    capture = _CaptureCertificate()
    try:
        payload_type, payload = Verifier(trusted_root=root.root).verify_dsse(bundle, capture)
    except (SigstoreError, ValueError) as e:
        raise SignatureInvalid(
            f"{candidate.location}: the keyless signature does not verify against {root.name}: {e}"
        ) from e
    # 3. the verified envelope must be exactly what the digest check read.
    if pae(payload_type, payload) != candidate.signed_bytes:
        raise SignatureInvalid(
            f"{candidate.location}: the verified envelope differs from the one read"
        )
    # 4. who signed.
    cert = capture.certificate
    if cert is None:
        raise SignatureInvalid(f"{candidate.location}: the bundle has no signing certificate")
    der = cert.public_bytes(Encoding.DER)
    return Signer(_subject(cert), _issuer(cert), hashlib.sha256(der).hexdigest())


class KeylessPolicy:
    """Satisfied when a candidate carries a keyless signature, valid under `root`, by one of the
    identities (any of)."""

    def __init__(self, identities: Sequence[KeylessIdentity], root: TrustedRoot, name: str) -> None:
        if not identities:
            raise InvalidSpec(
                f"{name}: no keyless identity; an empty list would trust nothing. Add an issuer "
                "and a subject"
            )
        self.identities = tuple(identities)
        self.root = root
        self.name = name

    def describe(self) -> str:
        return f"{self.name} ({'; '.join(i.describe() for i in self.identities)})"

    def identity(self) -> str:
        allowed = ",".join(sorted(i.identity() for i in self.identities))
        return f"keyless(root={self.root.digest};{allowed})"

    def _reject(self, evidence: Evidence, candidate: Candidate, error: WasmgateError) -> None:
        evidence.rejections.append(
            Rejection(
                candidate.location,
                SignatureCheck.KEY,
                error.reason,
                error.message,
                candidate.format,
                candidate.discovery,
            )
        )

    def verify(self, evidence: Evidence) -> None:
        worst: type[WasmgateError] | None = None
        signers: list[str] = []
        wanted = " or ".join(i.describe() for i in self.identities)
        for candidate in evidence.candidates:
            if candidate.bundle is None:
                continue
            try:
                signer = verify_keyless(candidate, self.root)
            except SignatureInvalid as e:
                worst = worst or SignatureInvalid
                self._reject(evidence, candidate, e)
                continue
            allowed = next(
                (i for i in self.identities if i.matches(signer.subject, signer.issuer)), None
            )
            if allowed is None:
                worst = SignatureUntrusted
                signers.append(signer.describe())
                self._reject(
                    evidence,
                    candidate,
                    SignatureUntrusted(
                        f"{candidate.location}: signed by {signer.describe()}, but "
                        f"{self.name} wants {wanted}"
                    ),
                )
                continue
            evidence.matches.append(
                Match(
                    signer.subject,
                    signer.certificate_sha256,
                    KEYLESS_ALGORITHM,
                    candidate.format,
                    candidate.discovery,
                    candidate.location,
                    self.name,
                    identity=signer.subject,
                    issuer=signer.issuer,
                )
            )
            return
        if worst is None:
            raise SignatureUntrusted(
                f"{evidence.name}@{evidence.digest}: no keyless signature; {self.name} wants one "
                f"by {wanted}"
            )
        found = f"; signed by {', '.join(signers)}" if signers else ""
        raise worst(f"{evidence.name}@{evidence.digest}: no keyless signature by {wanted}{found}")
