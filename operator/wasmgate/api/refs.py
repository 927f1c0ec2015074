"""References from cluster-scoped wasmgate objects to namespaced Secrets.

wasmgate objects are cluster-scoped, so every Secret reference names its namespace: there is no
"same namespace" to fall back on. The operator can read only the Secrets its RBAC grants.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from wasmgate.api.base import ApiModel
from wasmgate.api.formats import dns_label_rule, dns_subdomain_rule, secret_key_rule

# `cosign generate-key-pair k8s://<namespace>/<name>` stores the public key under this key.
COSIGN_PUBLIC_KEY = "cosign.pub"
# The file name sigstore tooling gives a trusted root (`cosign trusted-root create`).
TRUSTED_ROOT_KEY = "trusted_root.json"

SecretName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        description="Name of the Secret.",
    ),
    dns_subdomain_rule("name", "plugin-signing-key"),
]
SecretNamespace = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        description="Namespace of the Secret; the operator must be allowed to read Secrets there.",
    ),
    dns_label_rule("namespace", "wasmgate-system"),
]


class SecretRef(ApiModel):
    """A Secret in a given namespace."""

    name: SecretName
    namespace: SecretNamespace


class PublicKeySecretRef(SecretRef):
    """A Secret entry that holds one PEM public key (ECDSA P-256, RSA or Ed25519)."""

    key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=253,
            description="Key in the Secret's data that holds the PEM public key. "
            "`cosign generate-key-pair k8s://<namespace>/<name>` writes it as cosign.pub.",
        ),
        secret_key_rule("key", COSIGN_PUBLIC_KEY),
    ] = COSIGN_PUBLIC_KEY


class TrustedRootSecretRef(SecretRef):
    """A Secret entry that holds a sigstore trusted root (trusted_root.json)."""

    key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=253,
            description="Key in the Secret's data that holds the trusted root JSON, as written "
            "by `cosign trusted-root create`.",
        ),
        secret_key_rule("key", TRUSTED_ROOT_KEY),
    ] = TRUSTED_ROOT_KEY
