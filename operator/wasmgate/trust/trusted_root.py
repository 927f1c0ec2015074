"""The sigstore trusted root keyless signatures are checked against, loaded without any network.

By default the public-good root that ships inside the pinned sigstore-python release (the copy
its TUF client starts from) is used: wasmgate never refreshes it over TUF, because verification
must work on air-gapped clusters and from a read-only root filesystem with no home directory. A
cluster with a private sigstore, or one that wants a newer public root, gives its own
`trusted_root.json` in a Secret (`verify.trustedRootRef`, `WasmTrustPolicy.trustedRootRef`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot as SigstoreTrustedRoot
from sigstore_models.trustroot import v1 as trustroot_v1

from wasmgate.errors import InvalidSpec

# sigstore-python keeps the TUF-distributed root it bootstraps from under this package directory,
# one folder per TUF repository URL (quoted).
_PRODUCTION_STORE = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
PRODUCTION_NAME = "the sigstore public-good root embedded in wasmgate"


@dataclass(frozen=True)
class TrustedRoot:
    """A parsed trusted root, with where it came from and a digest of its exact bytes."""

    name: str
    digest: str
    """sha256 hex of the JSON bytes: part of a policy's identity, so a new root re-verifies."""
    root: SigstoreTrustedRoot


def load_trusted_root(data: bytes, name: str) -> TrustedRoot:
    """Parse `trusted_root.json` bytes; InvalidSpec naming `name` when they are not one."""
    try:
        inner = trustroot_v1.TrustedRoot.from_json(data)
        root = SigstoreTrustedRoot(inner)
        # Fail now, not at the first signature, when a part verification needs is missing.
        root.get_fulcio_certs()
        root.ct_keyring(KeyringPurpose.VERIFY)
        root.rekor_keyring(KeyringPurpose.VERIFY)
    except (ValueError, SigstoreError) as e:
        raise InvalidSpec(
            f"{name}: not a usable sigstore trusted root ({e}); give the trusted_root.json "
            "that `cosign trusted-root create` writes"
        ) from e
    return TrustedRoot(name, hashlib.sha256(data).hexdigest(), root)


def production_trusted_root_bytes() -> bytes:
    """The public-good root's JSON as sigstore-python ships it (what `wasmgate save` bundles)."""
    return (
        resources.files("sigstore._store")
        .joinpath(_PRODUCTION_STORE)
        .joinpath("trusted_root.json")
        .read_bytes()
    )


@functools.cache
def production_trusted_root() -> TrustedRoot:
    """The public-good root from the installed sigstore-python, read from package data (once:
    it cannot change while the process runs)."""
    return load_trusted_root(production_trusted_root_bytes(), PRODUCTION_NAME)
