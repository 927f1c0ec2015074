"""The resolve stage: pin spec.source.image to a manifest digest and record the artifact facts.

Everything after this stage names `status.digest`, never the tag. The stage runs again when the
spec changes, when the pull secret or cluster policies change, and on every periodic pass for
`pullPolicy: Always` (a moved tag then yields a new digest, which every later stage sees as a
new input).
"""

from __future__ import annotations

from dataclasses import replace

from wasmgate.api.conditions import PluginCondition
from wasmgate.api.wasmplugin_status import ArtifactLayout, short_digest
from wasmgate.oci.layout import Layout
from wasmgate.oci.resolve import Resolved, resolve
from wasmgate.reconcile.deps import StageDeps
from wasmgate.reconcile.mirror import mirror_inputs
from wasmgate.reconcile.pipeline import PluginView, Stage, StageResult, fingerprint
from wasmgate.reconcile.policy import max_module_bytes
from wasmgate.reconcile.secrets import pull_credentials

LAYOUTS = {
    Layout.CNCF: ArtifactLayout.WASM_ARTIFACT,
    Layout.ORAS: ArtifactLayout.ORAS_LAYER,
    Layout.COMPAT: ArtifactLayout.COMPAT_IMAGE,
}
RESOLVE_FIELDS = ("digest", "shortDigest", "layerDigest", "layout", "size", "source")


def source_status(resolved: Resolved) -> dict[str, str | None]:
    """status.source: the reference judged, and the mirror it was read from. Status is written
    as a merge patch, so "no mirror" is an explicit None that removes an earlier one."""
    mirror = None if resolved.mirror is None else str(resolved.mirror)
    return {"image": str(resolved.reference), "mirror": mirror}


def resolve_stage(deps: StageDeps) -> Stage:
    """The stage, bound to this pass's clients and policies."""

    def run(view: PluginView) -> StageResult:
        source = view.spec.source
        settings = replace(deps.registry, max_blob_bytes=max_module_bytes(view.spec, deps.policies))
        credentials = pull_credentials(view.spec, deps.read_secret)
        resolved = resolve(source.image, settings, credentials, source.digest)
        status = {
            "digest": resolved.digest,
            "shortDigest": short_digest(resolved.digest),
            "layerDigest": resolved.layer_digest,
            "layout": LAYOUTS[resolved.layout].value,
            "size": resolved.size,
            "source": source_status(resolved),
        }
        via = f" (read from the mirror {resolved.mirror.name})" if resolved.mirror else ""
        return StageResult(status, f"{source.image} resolved to {resolved.digest}{via}")

    def inputs(view: PluginView) -> str:
        return fingerprint(
            "resolve",
            view.generation,
            view.material.get("pullSecret", ""),
            view.material.get("policies", ""),
            *mirror_inputs(deps.registry, view.spec.source.image),
        )

    return Stage(
        name="resolve",
        condition=PluginCondition.RESOLVED,
        success_reason="Resolved",
        run=run,
        inputs=inputs,
        owns=RESOLVE_FIELDS,
    )
