"""What `wasmgate inspect REF` finds about an artifact, gathered with the product's own code.

The operator's stages each see one part of an artifact (resolve the layout, trust the signatures,
validate the exports); an author or an admin wants all of it at once, before applying anything.
This module asks each stage for its part and returns one JSON-ready document; rendering it as
text is `inspect_cli`'s job. It joins stages, which never import each other, so it sits beside
them. Signers are identified, not judged: `wasmgate verify` gives the cluster's verdict.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmgate.errors import WasmgateError
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.fetch import fetch_layer
from wasmgate.oci.manifest import Descriptor
from wasmgate.oci.reference import parse_reference
from wasmgate.oci.resolve import Resolved, resolve
from wasmgate.oci.settings import RegistrySettings
from wasmgate.reconcile.signature_store import RegistrySignatureStore
from wasmgate.trust.candidates import Candidate
from wasmgate.trust.discovery import find_signatures
from wasmgate.trust.identity import repository_name
from wasmgate.trust.keyless import verify_keyless
from wasmgate.trust.keys import TrustedKey
from wasmgate.trust.settings import TrustSettings
from wasmgate.trust.trusted_root import TrustedRoot
from wasmgate.validate.abi import EXTENSION_POINTS_BY_NAME
from wasmgate.validate.binary import parse_interface

MODULE_FILE = "plugin.wasm"


@dataclass(frozen=True)
class Identify:
    """What inspect may use to say who made a signature: keys the user has, a trusted root."""

    keys: Sequence[TrustedKey] = ()
    root: TrustedRoot | None = None


def _layer(layer: Descriptor, wasm: Descriptor) -> dict[str, Any]:
    return {
        "mediaType": layer.media_type,
        "digest": layer.digest,
        "size": layer.size,
        "wasm": layer.digest == wasm.digest,
    }


def _signer(candidate: Candidate, identify: Identify) -> dict[str, Any]:
    """Who made one signature, as far as the material at hand can tell."""
    if candidate.bundle is not None:
        if identify.root is None:
            return {"kind": "keyless", "verified": False, "detail": "no trusted root to check"}
        try:
            signer = verify_keyless(candidate, identify.root)
        except WasmgateError as e:
            return {"kind": "keyless", "verified": False, "detail": e.message}
        return {
            "kind": "keyless",
            "verified": True,
            "identity": signer.subject,
            "issuer": signer.issuer,
            "detail": f"certificate verified against {identify.root.name}",
        }
    for key in identify.keys:
        if any(key.verifies(s, candidate.signed_bytes) for s in candidate.signatures):
            return {
                "kind": "key",
                "verified": True,
                "keyFingerprint": f"sha256:{key.fingerprint}",
                "algorithm": key.algorithm,
                "detail": f"signature verifies with {key.name}",
            }
    hint = f"sha256:{candidate.key_hint}" if candidate.key_hint else None
    detail = "made by none of the --key keys" if identify.keys else "give --key to identify it"
    return {"kind": "key", "verified": False, "keyFingerprint": hint, "detail": detail}


def _signatures(resolved: Resolved, client: RegistryClient, identify: Identify) -> dict[str, Any]:
    found = find_signatures(RegistrySignatureStore(client), resolved, TrustSettings())
    own_name = repository_name(resolved.reference.name)
    return {
        "lookedAt": found.looked_at,
        "found": [
            {
                "format": c.format.value,
                "discovery": c.discovery.value,
                "location": c.location,
                "signsDigest": c.claimed_digest,
                "signsThisDigest": c.claimed_digest == resolved.digest,
                "signsRepository": c.claimed_repository,
                "repositoryMatches": c.claimed_repository is None
                or repository_name(c.claimed_repository) == own_name,
                "signer": _signer(c, identify),
            }
            for c in found.candidates
        ],
        "unreadable": [
            {"location": r.location, "reason": r.reason, "message": r.message}
            for r in found.rejections
        ],
    }


def _module(data: bytes) -> dict[str, Any]:
    """Exports and imports of the module, each export marked when it is an ABI entry point."""
    try:
        interface = parse_interface(data)
    except (ValueError, UnicodeDecodeError, IndexError) as e:
        return {"error": f"the module's sections are unreadable: {e}", "exports": [], "imports": []}
    exports = []
    for export in interface.exports:
        point = EXTENSION_POINTS_BY_NAME.get(export.name)
        exports.append(
            {
                "name": export.name,
                "kind": export.kind,
                "signature": str(export.signature) if export.signature else None,
                "extensionPoint": point is not None,
                "signatureMatchesAbi": None
                if point is None
                else export.signature == point.signature,
            }
        )
    imports = [
        {"module": i.module, "name": i.name, "kind": i.kind, "signature": str(i.signature or "")}
        for i in interface.imports
    ]
    return {"exports": exports, "imports": imports}


def inspect_reference(
    reference: str,
    settings: RegistrySettings,
    credentials: Credentials,
    identify: Identify,
) -> dict[str, Any]:
    """Resolve, read the manifest, find signatures and read the module's interface."""
    ref = parse_reference(reference, "REF")
    resolved = resolve(ref, settings, credentials)
    with RegistryClient(ref.registry, settings, credentials, ref.repository) as client:
        manifest = client.manifest(ref.repository, resolved.digest)
        signatures = _signatures(resolved, client, identify)
    with tempfile.TemporaryDirectory(prefix="wasmgate-inspect-") as tmp:
        fetched = fetch_layer(resolved, Path(tmp) / MODULE_FILE, settings, credentials)
        module = _module(fetched.path.read_bytes())
    config = manifest.config.size if manifest.config else 0
    layers = sum(layer.size for layer in manifest.layers)
    return {
        "reference": str(resolved.reference),
        "digest": resolved.digest,
        "mediaType": manifest.media_type,
        "artifactType": manifest.artifact_type,
        "layout": resolved.layout.value,
        "size": {
            "manifest": manifest.size,
            "config": config,
            "layers": layers,
            "total": manifest.size + config + layers,
            "module": fetched.size,
        },
        "config": None
        if manifest.config is None
        else {"mediaType": manifest.config.media_type, "digest": manifest.config.digest},
        "layers": [_layer(layer, resolved.layer) for layer in manifest.layers],
        "annotations": dict(manifest.annotations),
        "module": {"digest": fetched.wasm_digest, "size": fetched.size, **module},
        "signatures": signatures,
    }
