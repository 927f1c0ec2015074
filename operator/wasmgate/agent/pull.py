"""Pull one blob into the store: by digest only, with the plugin's credentials, re-checked.

The agent never follows a tag. It asks the registry for the manifest at status.digest (the
client checks the manifest bytes hash to it), requires that manifest's wasm layer to be
status.layerDigest, reserves room in the store, then streams the module through the verified
fetch into the store's hidden staging path; the store hashes it again from disk before the
rename. A registry or a status that disagrees with itself is refused with DigestMismatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wasmgate.agent.store import BlobStore
from wasmgate.agent.wanted import PullSource
from wasmgate.api.refs import SecretRef
from wasmgate.errors import DigestMismatch
from wasmgate.oci import Credentials, RegistrySettings, fetch_layer, parse_reference, resolve

CredentialsLookup = Callable[[SecretRef], Credentials]


def pull_blob(
    source: PullSource,
    store: BlobStore,
    settings: RegistrySettings,
    credentials: CredentialsLookup,
) -> int:
    """Pull `source` into `store` and return the stored size; raise a WasmgateError on failure."""
    creds = credentials(source.pull_secret) if source.pull_secret else None
    limited = replace(settings, max_blob_bytes=min(settings.max_blob_bytes, source.max_size))
    reference = parse_reference(source.image).pinned(source.manifest_digest)
    resolved = resolve(reference, limited, creds, pinned_digest=source.manifest_digest)
    store.reserve(source.layer_digest, resolved.size)
    try:

        def write(path: Path) -> None:
            fetched = fetch_layer(resolved, path, limited, creds)
            if fetched.wasm_digest != source.layer_digest:
                raise DigestMismatch(
                    f"{resolved.reference}: its wasm module hashes to {fetched.wasm_digest}, "
                    f"but the plugin's status.layerDigest is {source.layer_digest}; the status "
                    "does not describe this artifact"
                )

        return store.put(source.layer_digest, write)
    finally:
        store.release(source.layer_digest)
