"""The verdict the operator would give a reference, computed by the operator's own pipeline.

`wasmgate verify REF` must say exactly what status would say, so it does not re-implement the
policy: it builds the WasmPlugin an author would apply (REF as `spec.source.image`, optionally
the `spec` of their own manifest) and runs `reconcile.plugin_pass` with the resolve and verify
stages and the cluster's WasmTrustPolicies. The conditions, reasons and messages it returns are
those the operator would write. Warn-mode policies are left to admission by the operator; here
they are evaluated as if enforced, so their would-be refusal shows up as a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wasmgate.api.conditions import PluginCondition
from wasmgate.api.wasmtrustpolicy import PolicyMode
from wasmgate.oci.settings import RegistrySettings
from wasmgate.reconcile.deps import NamedPolicy, SecretReader, StageDeps
from wasmgate.reconcile.pipeline import Outcome, Stage
from wasmgate.reconcile.plugin_pass import plugin_pass
from wasmgate.reconcile.resolve_stage import resolve_stage
from wasmgate.reconcile.verify_stage import verify_stage
from wasmgate.trust.settings import TrustSettings

PLUGIN_NAME = "wasmgate-verify"
VERIFIED = "Verified"
REFUSED = "Refused"
UNDECIDED = "Undecided"
RawPolicies = Sequence[tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class ClusterVerdict:
    """What the operator would decide, and the status it would write for it."""

    verdict: str
    """`Verified` (the plugin passes verification), `Refused` (a permanent failure) or
    `Undecided` (a temporary failure: the registry or the API did not answer)."""
    reason: str
    message: str
    status: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON document of `-o json` (without the warnings; see `verdict_document`)."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "message": self.message,
            "digest": self.status.get("digest"),
            "layout": self.status.get("layout"),
            "signature": self.status.get("signature"),
            "conditions": [
                c
                for c in self.status.get("conditions", [])
                if c.get("type") in (PluginCondition.RESOLVED, PluginCondition.VERIFIED)
            ],
        }


def plugin_body(reference: str, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The WasmPlugin to judge: `spec` (an author's own, or none) with REF as its image."""
    full = dict(spec or {})
    full["source"] = {**dict(full.get("source") or {}), "image": reference}
    return {"metadata": {"name": PLUGIN_NAME, "generation": 1}, "spec": full}


def _stages(deps: StageDeps) -> list[Stage]:
    return [resolve_stage(deps), verify_stage(deps)]


def _verdict(outcome: Outcome) -> ClusterVerdict:
    conditions = {c["type"]: c for c in outcome.status.get("conditions", [])}
    verified = conditions.get(PluginCondition.VERIFIED, {})
    if outcome.retry is not None:
        return ClusterVerdict(
            UNDECIDED, outcome.retry.reason, outcome.retry.message, outcome.status
        )
    if verified.get("status") == "True":
        return ClusterVerdict(VERIFIED, verified["reason"], verified["message"], outcome.status)
    failed = next(
        (c for c in conditions.values() if c.get("status") == "False"),
        {"reason": "Unknown", "message": "the pipeline stopped without a verdict"},
    )
    return ClusterVerdict(REFUSED, failed["reason"], failed["message"], outcome.status)


def cluster_verdict(
    body: Mapping[str, Any],
    raw_policies: RawPolicies,
    read_secret: SecretReader,
    registry: RegistrySettings,
    trust: TrustSettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ClusterVerdict:
    """Run resolve and verify for `body` under `raw_policies`, as one operator pass would."""

    def make_deps(policies: Sequence[NamedPolicy]) -> StageDeps:
        return StageDeps(registry, trust or TrustSettings(), read_secret, policies, clock)

    outcome = plugin_pass(
        body,
        raw_policies=raw_policies,
        secret_version=lambda _namespace, _name: None,
        make_deps=make_deps,
        make_stages=_stages,
        now=clock(),
    )
    return _verdict(outcome)


def warn_policies(raw_policies: RawPolicies) -> list[str]:
    """Names of the policies in Warn mode."""
    return [name for name, spec in raw_policies if spec.get("mode") == PolicyMode.WARN.value]


def as_enforced(raw_policies: RawPolicies, names: Sequence[str]) -> list[tuple[str, Any]]:
    """The policies with those named switched to Enforce (to see what they would refuse)."""
    return [
        (name, {**spec, "mode": PolicyMode.ENFORCE.value} if name in names else spec)
        for name, spec in raw_policies
    ]
