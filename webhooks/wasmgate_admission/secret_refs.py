"""Checks of Secret references: the Secret exists and its entry holds what the operator needs.

A missing key or a private key pasted instead of `cosign.pub` would otherwise surface only at
verification time as SignatureInvalid; here the user learns it from `kubectl apply` itself. Keys
are parsed with the same loader the operator verifies with, so both accept the same keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from wasmgate.api.refs import COSIGN_PUBLIC_KEY, TRUSTED_ROOT_KEY
from wasmgate.errors import InvalidSpec
from wasmgate.trust.keys import load_public_key
from wasmgate_admission.decision import Findings
from wasmgate_admission.lookup import Lookup, LookupFailed

DOCKER_CONFIG_JSON = ".dockerconfigjson"
# What `_json_entry` returns for an entry that is present but is not JSON.
NOT_JSON = object()


def _read_entry(
    ref: Mapping[str, Any],
    key: str,
    field: str,
    create_hint: str,
    lookup: Lookup,
    findings: Findings,
) -> bytes | None:
    """The decoded bytes of `key` in the referenced Secret, or None after recording why not."""
    namespace, name = ref["namespace"], ref["name"]
    try:
        secret = lookup.secret(namespace, name)
    except LookupFailed as e:
        findings.warn(
            f"{field}: could not read Secret {namespace}/{name} ({e.message}); the "
            "operator checks it again before verification"
        )
        return None
    if secret is None:
        findings.deny(
            f"{field}: Secret {namespace}/{name} does not exist; create it first "
            f"({create_hint}) or fix {field}.name/namespace"
        )
        return None
    data = secret.get("data") or {}
    if key not in data:
        present = ", ".join(sorted(data)) or "none"
        findings.deny(
            f"{field}: Secret {namespace}/{name} has no key {key!r} (keys: {present}); set "
            f"{field}.key to the key that holds it or add it to the Secret"
        )
        return None
    try:
        return base64.b64decode(data[key], validate=True)
    except (binascii.Error, ValueError):
        findings.deny(f"{field}: Secret {namespace}/{name} key {key!r} is not base64; recreate it")
        return None


def check_public_key_ref(
    ref: Mapping[str, Any], field: str, lookup: Lookup, findings: Findings
) -> None:
    """The Secret entry must hold one PEM public key the trust stage accepts."""
    namespace, name = ref["namespace"], ref["name"]
    key = ref.get("key", COSIGN_PUBLIC_KEY)
    hint = f"cosign generate-key-pair k8s://{namespace}/{name}"
    pem = _read_entry(ref, key, field, hint, lookup, findings)
    if pem is None:
        return
    try:
        load_public_key(pem, f"{field}: Secret {namespace}/{name} key {key!r}")
    except InvalidSpec as e:
        findings.deny(e.message)


def _json_entry(
    ref: Mapping[str, Any], key: str, field: str, hint: str, lookup: Lookup, findings: Findings
) -> Any:
    raw = _read_entry(ref, key, field, hint, lookup, findings)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def check_trusted_root_ref(
    ref: Mapping[str, Any], field: str, lookup: Lookup, findings: Findings
) -> None:
    """The Secret entry must hold a JSON document (the sigstore trusted root)."""
    namespace, name = ref["namespace"], ref["name"]
    key = ref.get("key", TRUSTED_ROOT_KEY)
    hint = f"kubectl create secret generic {name} -n {namespace} --from-file={TRUSTED_ROOT_KEY}"
    document = _json_entry(ref, key, field, hint, lookup, findings)
    if document is NOT_JSON:
        findings.deny(
            f"{field}: Secret {namespace}/{name} key {key!r} is not JSON; store the output of "
            "`cosign trusted-root create` there"
        )


def check_pull_secret_ref(
    ref: Mapping[str, Any], field: str, lookup: Lookup, findings: Findings
) -> None:
    """The Secret must hold registry credentials in .dockerconfigjson."""
    namespace, name = ref["namespace"], ref["name"]
    hint = (
        f"kubectl create secret docker-registry {name} -n {namespace} --docker-server=... "
        "--docker-username=... --docker-password=..."
    )
    document = _json_entry(ref, DOCKER_CONFIG_JSON, field, hint, lookup, findings)
    if document is not None and not (
        isinstance(document, dict) and isinstance(document.get("auths"), dict)
    ):  # also NOT_JSON
        findings.deny(
            f'{field}: Secret {namespace}/{name} {DOCKER_CONFIG_JSON} has no "auths" object; '
            "create it with `kubectl create secret docker-registry`"
        )


def check_signer_refs(
    verify: Mapping[str, Any], field: str, lookup: Lookup, findings: Findings
) -> None:
    """Every key Secret and the trusted root of a `verify`-shaped object (plugin or policy)."""
    for index, key in enumerate(verify.get("keys") or []):
        check_public_key_ref(key["secretRef"], f"{field}keys[{index}].secretRef", lookup, findings)
    root = verify.get("trustedRootRef")
    if root:
        check_trusted_root_ref(root, f"{field}trustedRootRef", lookup, findings)
