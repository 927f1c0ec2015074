"""Turn Secret references into what the stages use: trusted keys and registry credentials.

The bytes go from the Secret to the parser and nowhere else: messages name the Secret and the
key, never a value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from wasmgate.api.refs import SecretRef, TrustedRootSecretRef
from wasmgate.api.signers import KeylessIdentity, KeyRef
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import InvalidSpec
from wasmgate.oci.credentials import Credentials, credentials_from_secret_data
from wasmgate.reconcile.deps import SecretReader
from wasmgate.trust import keyless
from wasmgate.trust.keys import TrustedKey, load_public_key
from wasmgate.trust.trusted_root import TrustedRoot, load_trusted_root, production_trusted_root


def _label(ref: SecretRef) -> str:
    return f"Secret {ref.namespace}/{ref.name}"


def _entry(ref: SecretRef, key: str, read_secret: SecretReader, where: str, hint: str) -> bytes:
    encoded = read_secret(ref.namespace, ref.name).get(key)
    if encoded is None:
        raise InvalidSpec(f"{where} has no key {key!r}; {hint}")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as e:
        raise InvalidSpec(f"{where} key {key!r} is not base64") from e


def load_keys(keys: Sequence[KeyRef], read_secret: SecretReader, field: str) -> list[TrustedKey]:
    """The PEM public keys the references name, loaded and fingerprinted."""
    loaded = []
    for index, key in enumerate(keys):
        ref = key.secret_ref
        hint = (
            "store the PEM public key under it "
            "(`cosign generate-key-pair k8s://<namespace>/<name>` writes cosign.pub)"
        )
        pem = _entry(ref, ref.key, read_secret, f"{field}[{index}]: {_label(ref)}", hint)
        loaded.append(load_public_key(pem, f"{_label(ref)} key {ref.key}"))
    return loaded


def load_root(
    ref: TrustedRootSecretRef | None, read_secret: SecretReader, field: str
) -> TrustedRoot:
    """The trusted root a Secret holds, or the embedded public-good root when `ref` is None."""
    if ref is None:
        return production_trusted_root()
    where = f"{field}: {_label(ref)}"
    hint = "store the trusted root JSON under it (`cosign trusted-root create` writes it)"
    data = _entry(ref, ref.key, read_secret, where, hint)
    return load_trusted_root(data, f"{where} key {ref.key}")


def keyless_identities(identities: Sequence[KeylessIdentity]) -> list[keyless.KeylessIdentity]:
    """API identities as the trust stage's (issuer, exact subject or anchored regexp)."""
    return [keyless.KeylessIdentity(i.issuer, i.subject, i.subject_reg_exp) for i in identities]


def pull_credentials(spec: WasmPluginSpec, read_secret: SecretReader) -> Credentials | None:
    """Registry credentials from spec.source.pullSecretRef, or None for anonymous pulls."""
    ref = spec.source.pull_secret_ref
    if ref is None:
        return None
    data = read_secret(ref.namespace, ref.name)
    return credentials_from_secret_data(data, f"spec.source.pullSecretRef: {_label(ref)}")
