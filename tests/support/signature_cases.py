"""Plugins whose signature is wrong in one way each, made with the real cosign and oras.

The trust library tests and the operator end-to-end tests set up the same cases and expect the
same reason and the same message fragments, one level apart: `verify()` raising, and a
WasmPlugin's Verified condition. Each setup pushes to a real registry and returns what a
verification of its reference must report. Fragments name the fix (or the evidence) a user acts
on, never a policy's display name, which differs between the two levels.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.artifacts import credentials_for, push_cncf, run_oras, settings_for, wasm_bytes
from support.registries import LocalRegistry
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign
from wasmgate.oci import RegistryClient, push_wasm

LEGACY_SIGNATURE = "dev.cosignproject.cosign/signature"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
STALE = "Remove stale signatures from the registry"


@dataclass(frozen=True)
class Tools:
    """The signer's tools and keys, and a scratch directory of its own per case."""

    cosign: Path
    oras: Path
    trusted: SigningKey
    other: SigningKey
    workdir: Path

    def sign(self, registry: LocalRegistry, image: str, key: SigningKey, fmt: str) -> None:
        cosign_sign(self.cosign, registry, image, key, fmt, self.workdir)

    def oras_run(self, registry: LocalRegistry, *args: str) -> str:
        return run_oras(self.oras, registry, *args, cwd=self.workdir)


@dataclass(frozen=True)
class BadSignature:
    """A pushed plugin and what verifying it must say."""

    ref: str
    """The tag a plugin names."""
    digest: str
    """What the tag resolves to."""
    reason: str
    fragments: tuple[str, ...]
    """Parts of the message, each of which must appear."""


Setup = Callable[[Tools, LocalRegistry, str], BadSignature]


def _flip(encoded: str) -> str:
    raw = bytearray(base64.b64decode(encoded))
    raw[-3] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _tag_of(digest: str) -> str:
    return digest.replace(":", "-")


def push_signed(
    tools: Tools, registry: LocalRegistry, repo: str, fmt: str = LEGACY, tag: str = "v1"
) -> tuple[str, str]:
    """Push a unique module under `repo:tag`, sign it with the trusted key; (ref, digest)."""
    ref = f"{registry.host}/{repo}:{tag}"
    digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{tools.workdir.name}"), tools.workdir)
    tools.sign(registry, f"{registry.host}/{repo}@{digest}", tools.trusted, fmt)
    return ref, digest


def _sig_manifest(tools: Tools, registry: LocalRegistry, repo: str, digest: str) -> dict[str, Any]:
    sig = f"{registry.host}/{repo}:{_tag_of(digest)}.sig"
    manifest: dict[str, Any] = json.loads(tools.oras_run(registry, "manifest", "fetch", sig))
    return manifest


def _put_sig_manifest(
    registry: LocalRegistry, repo: str, digest: str, manifest: dict[str, Any]
) -> None:
    # Our client, not `oras manifest push`: oras refuses manifests over 4 MiB, which one case needs.
    with RegistryClient(registry.host, settings_for(registry), credentials_for(registry)) as client:
        data = json.dumps(manifest).encode()
        client.put_manifest(repo, f"{_tag_of(digest)}.sig", data, manifest["mediaType"])


def unsigned(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    ref = f"{registry.host}/{repo}:v1"
    digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{tools.workdir.name}"), tools.workdir)
    image = f"{registry.host}/{repo}@{digest}"
    return BadSignature(
        ref,
        digest,
        "SignatureMissing",
        (f"{image} is not signed", f"cosign sign --key cosign.key {image}"),
    )


def signed_by_another_key(fmt: str) -> Setup:
    def setup(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
        ref = f"{registry.host}/{repo}:v1"
        digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{tools.workdir.name}"), tools.workdir)
        tools.sign(registry, f"{registry.host}/{repo}@{digest}", tools.other, fmt)
        fragments = ["no signature verifies with", "not signed by any key of"]
        if fmt == BUNDLE:
            fragments.append(f"it names key {tools.other.trusted().fingerprint[:16]}")
        return BadSignature(ref, digest, "SignatureUntrusted", tuple(fragments))

    return setup


def copied_from_another_digest(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    _, signed = push_signed(tools, registry, repo)
    ref = f"{registry.host}/{repo}:v2"
    target = push_cncf(registry, ref, wasm_bytes(f"{ref}-copy-target"), tools.workdir)
    sig = f"{registry.host}/{repo}:{_tag_of(signed)}.sig"
    tools.oras_run(registry, "tag", sig, f"{_tag_of(target)}.sig")
    return BadSignature(
        ref,
        target,
        "SignatureDigestMismatch",
        (f"signs {signed}, not {target}; it was copied from another artifact",),
    )


def naming_another_repository(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    """The same bytes in two repositories; the origin's legacy signature copied to the other."""
    module = tools.workdir / "same-bytes.wasm"
    module.write_bytes(wasm_bytes(f"{registry.host}/{repo}-{tools.workdir.name}"))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    origin, ref = f"{registry.host}/{repo}-origin", f"{registry.host}/{repo}:v1"
    pushed = [
        push_wasm(
            module, target, settings_for(registry), credentials_for(registry), created=created
        )
        for target in (f"{origin}:v1", ref)
    ]
    assert pushed[0] == pushed[1], "the same bytes and time must give the same digest"
    digest = pushed[0]
    tools.sign(registry, f"{origin}@{digest}", tools.trusted, LEGACY)
    tag = f"{_tag_of(digest)}.sig"
    tools.oras_run(registry, "cp", f"{origin}:{tag}", f"{registry.host}/{repo}:{tag}")
    return BadSignature(
        ref,
        digest,
        "SignatureIdentityMismatch",
        (f"signs repository {origin}, not {registry.host}/{repo}",),
    )


def corrupted_legacy_signature(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    ref, digest = push_signed(tools, registry, repo)
    manifest = _sig_manifest(tools, registry, repo, digest)
    annotations = manifest["layers"][0]["annotations"]
    annotations[LEGACY_SIGNATURE] = _flip(annotations[LEGACY_SIGNATURE])
    _put_sig_manifest(registry, repo, digest, manifest)
    return BadSignature(
        ref,
        digest,
        "SignatureUntrusted",
        ("not signed by any key of", "or the signature is corrupted"),
    )


def corrupted_bundle_signature(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    """cosign's bundle replaced by a corrupted copy in the fallback index (no referrers API)."""
    assert not registry.supports_referrers, "the fallback index is edited; use docker-registry"
    ref = f"{registry.host}/{repo}:v1"
    digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{tools.workdir.name}"), tools.workdir)
    image = f"{registry.host}/{repo}@{digest}"
    written = tools.workdir / "bundle.json"
    cosign_sign(tools.cosign, registry, image, tools.trusted, BUNDLE, tools.workdir, written)
    bundle = json.loads(written.read_text())
    signature = bundle["dsseEnvelope"]["signatures"][0]
    signature["sig"] = _flip(signature["sig"])
    (tools.workdir / "bad.json").write_text(json.dumps(bundle))
    tools.oras_run(
        registry, "attach", "--artifact-type", BUNDLE_TYPE, image, f"bad.json:{BUNDLE_TYPE}"
    )
    index_tag = f"{registry.host}/{repo}:{_tag_of(digest)}"
    index = json.loads(tools.oras_run(registry, "manifest", "fetch", index_tag))
    index["manifests"] = index["manifests"][-1:]  # only the corrupted referrer, attached last
    (tools.workdir / "index.json").write_text(json.dumps(index))
    tools.oras_run(registry, "manifest", "push", "--media-type", OCI_INDEX, index_tag, "index.json")
    return BadSignature(
        ref,
        digest,
        "SignatureInvalid",
        (
            f"names trusted key {tools.trusted.trusted().fingerprint[:16]}",
            "does not verify; it is corrupted or was altered",
        ),
    )


def tampered_payload_in_storage(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
    """The legacy payload blob edited on the registry's disk; docker-registry serves it as is."""
    assert not registry.supports_referrers, "go-containerregistry refuses tampered blobs"
    ref, digest = push_signed(tools, registry, repo)
    layer = _sig_manifest(tools, registry, repo, digest)["layers"][0]["digest"]
    payload = registry.blob_path(layer)
    payload.write_bytes(payload.read_bytes().replace(b"cosign", b"COSIGN"))
    return BadSignature(
        ref,
        digest,
        "DigestMismatch",
        (layer, "the registry's copy is corrupt or was tampered with"),
    )


def more_signatures_than(cap: int) -> Setup:
    """One more legacy signature than `cap` (cosign's, repeated in the .sig manifest).

    The manifest's layer cap (32 by default) is above the signature cap (16), so the signature
    count refuses it; either message says where, and what to remove."""

    def setup(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
        ref, digest = push_signed(tools, registry, repo)
        manifest = _sig_manifest(tools, registry, repo, digest)
        manifest["layers"] = manifest["layers"][:1] * (cap + 1)
        _put_sig_manifest(registry, repo, digest, manifest)
        return BadSignature(
            ref,
            digest,
            "SignatureLimitExceeded",
            (f"{registry.host}/{repo}:{_tag_of(digest)}.sig", STALE),
        )

    return setup


def signature_manifest_over(cap: int) -> Setup:
    """A .sig manifest padded past `cap` bytes with an annotation."""

    def setup(tools: Tools, registry: LocalRegistry, repo: str) -> BadSignature:
        ref, digest = push_signed(tools, registry, repo)
        manifest = _sig_manifest(tools, registry, repo, digest)
        manifest["annotations"] = {"padding": "x" * cap}
        _put_sig_manifest(registry, repo, digest, manifest)
        return BadSignature(
            ref,
            digest,
            "SignatureLimitExceeded",
            (f"{_tag_of(digest)}.sig", f"the cap is {cap}", STALE),
        )

    return setup


def failure_cases(max_signatures: int, max_manifest_bytes: int) -> dict[str, tuple[str, Setup]]:
    """Every signature failure by id: the registry (kit name) it is set up on, and its setup."""
    return {
        "unsigned": ("oci", unsigned),
        "another-key-legacy": ("distribution", signed_by_another_key(LEGACY)),
        "another-key-bundle": ("oci", signed_by_another_key(BUNDLE)),
        "copied-from-another-digest": ("oci", copied_from_another_digest),
        "naming-another-repository": ("distribution", naming_another_repository),
        "corrupted-legacy": ("oci", corrupted_legacy_signature),
        "corrupted-bundle": ("distribution", corrupted_bundle_signature),
        "tampered-payload": ("distribution", tampered_payload_in_storage),
        "too-many-signatures": ("oci", more_signatures_than(max_signatures)),
        "signature-manifest-over-cap": ("oci", signature_manifest_over(max_manifest_bytes)),
    }
