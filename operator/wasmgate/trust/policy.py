"""Trust policies: objects with one `verify(evidence)` that raises when not satisfied.

`KeyPolicy` trusts signatures made by any of its keys; `AnyOf` and `AllOf` combine policies (a
plugin's keys AND the cluster's WasmTrustPolicy is `AllOf(plugin, cluster)`); `RegistryAllowList`
restricts where artifacts may come from. An empty policy is refused when built: it could only
mean "allow everything" or "allow nothing", and neither should happen by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from wasmgate.api.registry_glob import glob_matches
from wasmgate.errors import (
    InvalidSpec,
    PolicyViolation,
    SignatureInvalid,
    SignatureUntrusted,
    WasmgateError,
)
from wasmgate.trust.candidates import (
    Candidate,
    Discovery,
    Rejection,
    SignatureCheck,
    SignatureFormat,
)
from wasmgate.trust.keys import TrustedKey


@dataclass(frozen=True)
class Match:
    """A signature that verified, and with which key (or keyless identity)."""

    key_name: str
    fingerprint: str
    """Key signatures: sha256 of the DER public key. Keyless: sha256 of the certificate."""
    algorithm: str
    format: SignatureFormat
    discovery: Discovery
    location: str
    policy: str
    identity: str | None = None
    """Keyless signatures: the certificate subject (e-mail, workflow URI, ...)."""
    issuer: str | None = None
    """Keyless signatures: the OIDC issuer the certificate names."""


@dataclass
class Evidence:
    """What policies judge: the subject and the candidates that passed the digest and identity
    checks. Policies append the matches and rejections they find."""

    name: str
    """`registry/repository` of the subject."""
    digest: str
    candidates: Sequence[Candidate]
    matches: list[Match] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class Policy(Protocol):
    """Something that can accept or refuse the evidence."""

    def verify(self, evidence: Evidence) -> None:
        """Return when satisfied; raise a WasmgateError saying why not otherwise."""
        ...

    def describe(self) -> str:
        """One line for messages and status."""
        ...

    def identity(self) -> str:
        """A canonical text of everything the decision depends on (full key fingerprints)."""
        ...


def _short(fingerprint: str) -> str:
    return fingerprint[:16]


class KeyPolicy:
    """Satisfied when at least one candidate carries a signature by one of these keys."""

    def __init__(self, keys: Sequence[TrustedKey], name: str) -> None:
        if not keys:
            raise InvalidSpec(
                f"{name}: no public keys; an empty key list would trust nothing. Add a PEM "
                "public key (cosign.pub)"
            )
        self.keys = tuple(keys)
        self.name = name

    def describe(self) -> str:
        return f"{self.name} ({', '.join(_short(k.fingerprint) for k in self.keys)})"

    def identity(self) -> str:
        return f"keys({','.join(sorted(k.fingerprint for k in self.keys))})"

    def _key_for(self, candidate: Candidate) -> TrustedKey | None:
        for key in self.keys:
            if any(key.verifies(s, candidate.signed_bytes) for s in candidate.signatures):
                return key
        return None

    def verify(self, evidence: Evidence) -> None:
        matched = False
        worst: type[WasmgateError] = SignatureUntrusted
        for candidate in evidence.candidates:
            key = self._key_for(candidate)
            if key is not None:
                matched = True
                evidence.matches.append(
                    Match(
                        key.name,
                        key.fingerprint,
                        key.algorithm,
                        candidate.format,
                        candidate.discovery,
                        candidate.location,
                        self.name,
                    )
                )
                continue
            claimed = next((k for k in self.keys if k.fingerprint == candidate.key_hint), None)
            if candidate.bundle is not None:
                reason, message = (
                    SignatureUntrusted.reason,
                    f"{candidate.location}: a keyless (certificate) signature, not one by a key "
                    f"of {self.describe()}; trust its identity with keyless",
                )
            elif claimed is not None:
                worst = SignatureInvalid
                reason, message = (
                    SignatureInvalid.reason,
                    f"{candidate.location}: names trusted key {_short(claimed.fingerprint)} "
                    f"({claimed.name}) but its signature does not verify; it is corrupted or "
                    "was altered. Sign again",
                )
            else:
                named = f"; it names key {_short(candidate.key_hint)}" if candidate.key_hint else ""
                reason, message = (
                    SignatureUntrusted.reason,
                    f"{candidate.location}: not signed by any key of {self.describe()}{named}; "
                    "sign with a trusted key or add its public key to the policy (or the "
                    "signature is corrupted)",
                )
            evidence.rejections.append(
                Rejection(
                    candidate.location,
                    SignatureCheck.KEY,
                    reason,
                    message,
                    candidate.format,
                    candidate.discovery,
                )
            )
        if not matched:
            raise worst(
                f"{evidence.name}@{evidence.digest}: no signature verifies with {self.describe()}"
            )


class AnyOf:
    """Satisfied when any of its policies is."""

    def __init__(self, policies: Sequence[Policy], name: str = "any of") -> None:
        if not policies:
            raise InvalidSpec(f"{name}: an any-of policy needs at least one policy")
        self.policies = tuple(policies)
        self.name = name

    def describe(self) -> str:
        return "any of: " + "; ".join(p.describe() for p in self.policies)

    def identity(self) -> str:
        return f"any({';'.join(p.identity() for p in self.policies)})"

    def verify(self, evidence: Evidence) -> None:
        errors: list[WasmgateError] = []
        for policy in self.policies:
            try:
                policy.verify(evidence)
            except WasmgateError as e:
                errors.append(e)
            else:
                return
        first = errors[0]
        raise type(first)("; ".join(e.message for e in errors))


class AllOf:
    """Satisfied when every one of its policies is."""

    def __init__(self, policies: Sequence[Policy], name: str = "all of") -> None:
        if not policies:
            raise InvalidSpec(f"{name}: an all-of policy needs at least one policy")
        self.policies = tuple(policies)
        self.name = name

    def describe(self) -> str:
        return "all of: " + "; ".join(p.describe() for p in self.policies)

    def identity(self) -> str:
        return f"all({';'.join(p.identity() for p in self.policies)})"

    def verify(self, evidence: Evidence) -> None:
        for policy in self.policies:
            policy.verify(evidence)


class RegistryAllowList:
    """Satisfied when `registry/repository` matches one of the glob patterns (the API's glob
    meaning, `wasmgate.api.registry_glob`, the same function admission uses)."""

    def __init__(self, patterns: Sequence[str], name: str = "allowed registries") -> None:
        if not patterns:
            raise InvalidSpec(f"{name}: no patterns; list the registries plugins may come from")
        self.patterns = tuple(patterns)
        self.name = name

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.patterns)})"

    def identity(self) -> str:
        return f"registries({','.join(self.patterns)})"

    def verify(self, evidence: Evidence) -> None:
        if not any(glob_matches(p, evidence.name) for p in self.patterns):
            raise PolicyViolation(
                f"{evidence.name} is not in {self.describe()}; push the plugin to an allowed "
                "registry or ask the cluster admin to extend the WasmTrustPolicy"
            )
