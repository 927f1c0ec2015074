"""Who may sign a plugin: public keys and keyless (Fulcio certificate) identities.

Both a WasmPlugin (`spec.verify`) and the cluster's WasmTrustPolicy name signers the same way, so
the entries are defined once here. A subject regular expression always matches the whole subject:
an unanchored `https://github.com/acme/.*` would also accept
`https://evil.example/?https://github.com/acme/x`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from wasmgate.api.base import ApiModel
from wasmgate.api.cel import Rule
from wasmgate.api.formats import check_regexp
from wasmgate.api.refs import PublicKeySecretRef, TrustedRootSecretRef

MAX_SIGNERS = 16
MAX_IDENTITY_LENGTH = 1024

_ISSUER_IS_URL = Rule(
    rule="self.startsWith('https://') || self.startsWith('http://')",
    message="issuer must be the OIDC issuer URL exactly as the certificate carries it, "
    "e.g. https://token.actions.githubusercontent.com",
    check=lambda value: value.startswith(("https://", "http://")),
)
_SUBJECT_EXCLUSIVE = Rule(
    rule="!(has(self.subject) && has(self.subjectRegExp))",
    message="subject and subjectRegExp are mutually exclusive; keep one of them",
    check=lambda value: not ("subject" in value and "subjectRegExp" in value),
    field_path=".subjectRegExp",
)
_SUBJECT_REQUIRED = Rule(
    rule="has(self.subject) || has(self.subjectRegExp)",
    message="set subject (exact match) or subjectRegExp (regular expression) to name the "
    "identity that must have signed",
    check=lambda value: "subject" in value or "subjectRegExp" in value,
)

TRUSTED_ROOT_NEEDS_KEYLESS = Rule(
    rule="!has(self.trustedRootRef) || (has(self.keyless) && size(self.keyless) > 0)",
    message="trustedRootRef is only used to check keyless signatures; add a keyless entry or "
    "remove trustedRootRef",
    check=lambda value: "trustedRootRef" not in value or bool(value.get("keyless")),
    field_path=".trustedRootRef",
)


class KeyRef(ApiModel):
    """A public key that may sign: signatures made with its private key are accepted."""

    secret_ref: PublicKeySecretRef = Field(
        description="The Secret entry holding the PEM public key. Editing the Secret makes "
        "wasmgate verify every plugin that uses it again."
    )


class KeylessIdentity(ApiModel):
    """A keyless (Fulcio certificate) signer: the OIDC issuer and subject the certificate names."""

    cel_rules = (_SUBJECT_EXCLUSIVE, _SUBJECT_REQUIRED)

    issuer: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_IDENTITY_LENGTH,
            description="OIDC issuer URL that must appear in the signing certificate, compared "
            "exactly, e.g. https://token.actions.githubusercontent.com for GitHub Actions or "
            "https://accounts.google.com.",
        ),
        _ISSUER_IS_URL,
    ]
    subject: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_IDENTITY_LENGTH,
        description="Exact certificate subject (SAN): an e-mail address or a workflow URL, e.g. "
        "https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main. "
        "Mutually exclusive with subjectRegExp.",
    )
    subject_reg_exp: (
        Annotated[
            str,
            Field(min_length=1, max_length=MAX_IDENTITY_LENGTH),
            AfterValidator(check_regexp),
        ]
        | None
    ) = Field(
        None,
        description="Regular expression (RE2 syntax, like cosign's "
        "--certificate-identity-regexp) that must match the WHOLE certificate subject; "
        "it is anchored for you, e.g. "
        "https://github.com/acme/plugins/.github/workflows/.*@refs/tags/v.*. "
        "Mutually exclusive with subject.",
    )


SignerKeys = Annotated[
    list[KeyRef],
    Field(max_length=MAX_SIGNERS),
]
KeylessIdentities = Annotated[
    list[KeylessIdentity],
    Field(max_length=MAX_SIGNERS),
]
TrustedRoot = Annotated[
    TrustedRootSecretRef | None,
    Field(
        description="Secret holding the sigstore trusted root (Fulcio CAs, Rekor and CT log "
        "keys) that keyless certificates are checked against, for air-gapped clusters or a "
        "private sigstore. Omit to use the public-good sigstore root embedded in wasmgate; "
        "nothing is fetched from the network at verification time."
    ),
]
