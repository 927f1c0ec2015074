"""Turn Secret references into what the stages use: trusted keys and registry credentials.

The bytes go from the Secret to the parser and nowhere else: messages name the Secret and the
key, never a value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from wasmgate.api.refs import SecretRef
from wasmgate.api.signers import KeyRef
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import InvalidSpec
from wasmgate.oci.credentials import Credentials, credentials_from_secret_data
from wasmgate.reconcile.deps import SecretReader
from wasmgate.trust.keys import TrustedKey, load_public_key


def _label(ref: SecretRef) -> str:
    return f"Secret {ref.namespace}/{ref.name}"


def load_keys(keys: Sequence[KeyRef], read_secret: SecretReader, field: str) -> list[TrustedKey]:
    """The PEM public keys the references name, loaded and fingerprinted."""
    loaded = []
    for index, key in enumerate(keys):
        ref = key.secret_ref
        where = f"{field}[{index}]: {_label(ref)}"
        data = read_secret(ref.namespace, ref.name)
        encoded = data.get(ref.key)
        if encoded is None:
            raise InvalidSpec(
                f"{where} has no key {ref.key!r}; store the PEM public key under it "
                "(`cosign generate-key-pair k8s://<namespace>/<name>` writes cosign.pub)"
            )
        try:
            pem = base64.b64decode(encoded, validate=True)
        except binascii.Error as e:
            raise InvalidSpec(f"{where} key {ref.key!r} is not base64") from e
        loaded.append(load_public_key(pem, f"{_label(ref)} key {ref.key}"))
    return loaded


def pull_credentials(spec: WasmPluginSpec, read_secret: SecretReader) -> Credentials | None:
    """Registry credentials from spec.source.pullSecretRef, or None for anonymous pulls."""
    ref = spec.source.pull_secret_ref
    if ref is None:
        return None
    data = read_secret(ref.namespace, ref.name)
    return credentials_from_secret_data(data, f"spec.source.pullSecretRef: {_label(ref)}")
