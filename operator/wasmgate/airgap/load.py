"""Push a `wasmgate save` layout into a registry so the operator there verifies it as at the source.

Manifests are pushed with their exact bytes (so digests and signatures hold): the artifact by
digest and under its tag, the legacy signature manifest under `sha256-<hex>.sig`, bundle
referrers by digest. A registry with the referrers API indexes those by their `subject`; on one
without it, the fallback index tagged `sha256-<hex>` is written (merged with one already there),
the way cosign does, so the verifier's discovery finds the bundles in either case.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from wasmgate.airgap.layout_tar import Layout, descriptor_json
from wasmgate.airgap.save import (
    REF_NAME,
    REPOSITORY,
    ROLE,
    ROLE_ARTIFACT,
    ROLE_REFERRER,
    ROLE_SIGNATURE,
)
from wasmgate.errors import ArtifactInvalid, InvalidSpec
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.manifest import OCI_INDEX, Descriptor, Manifest, parse_manifest
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate.oci.settings import RegistrySettings
from wasmgate.trust.bundle import BUNDLE_ARTIFACT_TYPE, fallback_tag

_PROBE = "wasmgate-probe"
MAX_MANIFEST_ENTRIES = 64


@dataclass(frozen=True)
class Target:
    """Where `--to` says to push: a registry host and an optional repository prefix."""

    registry: str
    prefix: str = ""

    def repository(self, source_name: str) -> str:
        """The destination repository of `registry/repository` saved from the source."""
        path = source_name.split("/", 1)[1] if "/" in source_name else source_name
        return f"{self.prefix}/{path}" if self.prefix else path


def parse_target(text: str) -> Target:
    """`host[:port][/prefix]`; InvalidSpec naming --to and the fix otherwise."""
    host = text.partition("/")[0]
    problem = InvalidSpec(
        f'--to: "{text}" is not a registry; write host[:port] or host[:port]/path/prefix '
        "(lowercase path), e.g. registry.corp.example/mirror"
    )
    # Docker's rule: a registry host has a dot or a port, or is localhost.
    if not ("." in host or ":" in host or host == "localhost"):
        raise problem
    try:
        probe = parse_reference(f"{text.rstrip('/')}/{_PROBE}:v1", "--to")
    except InvalidSpec:
        raise problem from None
    return Target(probe.registry, probe.repository.removesuffix(_PROBE).rstrip("/"))


@dataclass
class Loaded:
    """One artifact as it now exists in the target registry."""

    reference: Reference
    legacy_signatures: int = 0
    referrers: list[Descriptor] = field(default_factory=list)
    fallback_tag_written: bool = False


def _manifest(layout: Layout, entry: Descriptor) -> tuple[Manifest, bytes]:
    data = layout.blob_bytes(entry.digest)
    return parse_manifest(data, entry.digest, entry.media_type, MAX_MANIFEST_ENTRIES), data


def _push(client: RegistryClient, layout: Layout, repository: str, entry: Descriptor) -> Manifest:
    """Blobs first, then the manifest by digest; the pushed digest must be the saved one."""
    manifest, data = _manifest(layout, entry)
    for blob in (*((manifest.config,) if manifest.config else ()), *manifest.layers):
        client.put_blob(repository, layout.blob_path(blob.digest))
    pushed = client.put_manifest(repository, entry.digest, data, manifest.media_type)
    if pushed != entry.digest:
        raise ArtifactInvalid(f"manifest {entry.digest} changed on the way ({pushed}); save again")
    return manifest


def _fallback_index(client: RegistryClient, repository: str, loaded: Loaded) -> None:
    """Write (or extend) the referrers fallback index when the registry has no referrers API."""
    digest = loaded.reference.digest or ""
    if client.referrers(repository, digest, BUNDLE_ARTIFACT_TYPE) is not None:
        return
    tag = fallback_tag(digest)
    existing = client.manifest_or_none(repository, tag)
    entries = {d.digest: d for d in (existing.manifests if existing is not None else ())}
    entries.update({d.digest: d for d in loaded.referrers})
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor_json(d) for d in entries.values()],
    }
    data = json.dumps(index, separators=(",", ":")).encode()
    client.put_manifest(repository, tag, data, OCI_INDEX)
    loaded.fallback_tag_written = True


def _by_repository(layout: Layout) -> Mapping[str, list[Descriptor]]:
    grouped: dict[str, list[Descriptor]] = defaultdict(list)
    for entry in layout.manifests:
        if entry.annotations.get(ROLE) in (ROLE_ARTIFACT, ROLE_SIGNATURE, ROLE_REFERRER):
            source = entry.annotations.get(REPOSITORY)
            if not source:
                raise ArtifactInvalid(f"index.json entry {entry.digest} names no {REPOSITORY}")
            grouped[source].append(entry)
    return grouped


def _load_repository(
    client: RegistryClient, layout: Layout, repository: str, entries: list[Descriptor]
) -> list[Loaded]:
    loaded: dict[str, Loaded] = {}
    for entry in entries:
        role, tag = entry.annotations.get(ROLE), entry.annotations.get(REF_NAME)
        manifest = _push(client, layout, repository, entry)
        if tag:
            client.put_manifest(
                repository, tag, layout.blob_bytes(entry.digest), manifest.media_type
            )
        if role == ROLE_ARTIFACT:
            ref = Reference(client.registry, repository, tag, entry.digest)
            loaded[entry.digest] = Loaded(ref)
        elif role == ROLE_SIGNATURE and tag:
            subject = tag.removesuffix(".sig").replace("-", ":", 1)
            if subject in loaded:
                loaded[subject].legacy_signatures = len(manifest.layers)
        elif role == ROLE_REFERRER and manifest.subject is not None:
            target = loaded.get(manifest.subject.digest)
            if target is not None:
                config = manifest.config.media_type if manifest.config else None
                target.referrers.append(
                    Descriptor(
                        manifest.media_type,
                        entry.digest,
                        entry.size,
                        dict(_annotations(layout, entry)),
                        manifest.artifact_type or config,
                    )
                )
    for artifact in loaded.values():
        if artifact.referrers:
            _fallback_index(client, repository, artifact)
    return list(loaded.values())


def _annotations(layout: Layout, entry: Descriptor) -> Mapping[str, str]:
    document = json.loads(layout.blob_bytes(entry.digest))
    value = document.get("annotations") if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def load(
    layout: Layout, target: Target, settings: RegistrySettings, credentials: Credentials
) -> list[Loaded]:
    """Push every saved artifact with its signatures into `target`; what now exists there."""
    grouped = _by_repository(layout)
    if not grouped:
        raise ArtifactInvalid("the bundle holds no artifact; write it with `wasmgate save REF`")
    loaded: list[Loaded] = []
    for source, entries in grouped.items():
        repository = target.repository(source)
        with RegistryClient(target.registry, settings, credentials, repository) as client:
            loaded.extend(_load_repository(client, layout, repository, entries))
    return loaded
