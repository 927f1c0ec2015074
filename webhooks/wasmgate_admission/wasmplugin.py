"""Admission of WasmPlugin CREATE and UPDATE: the checks the CRD schema cannot make.

The schema and its CEL rules already refused malformed fields; this adds what needs the cluster
(Secrets, WasmSchedulers, WasmTrustPolicies) and what needs a real parser (image references).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.plugin_json import scheduler_names
from wasmgate.api.wasmplugin import MAX_GUEST_CONFIG_BYTES, WasmPlugin, WasmPluginSpec
from wasmgate.api.wasmscheduler import MAX_SCHEDULER_PLUGINS, PLUGIN_LIMIT_EXCEEDED
from wasmgate.api.wasmtrustpolicy import PolicyMode
from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate_admission import model_errors, trust_policy
from wasmgate_admission.decision import AdmissionDecision, Findings
from wasmgate_admission.lookup import Lookup, LookupFailed
from wasmgate_admission.secret_refs import check_pull_secret_ref, check_signer_refs


def _reference(spec: WasmPluginSpec, findings: Findings) -> Reference | None:
    try:
        reference = parse_reference(spec.source.image, "spec.source.image")
    except InvalidSpec as e:
        findings.deny(e.message)
        return None
    if spec.source.digest and reference.digest and spec.source.digest != reference.digest:
        findings.deny(
            f"spec.source.digest {spec.source.digest} differs from the digest in "
            f"spec.source.image ({reference.digest}); make them equal or remove one of them",
            reason="DigestMismatch",
        )
    return reference


def _guest_config(spec: WasmPluginSpec, findings: Findings) -> None:
    config = spec.scheduler.guest_config
    if config is not None and len(config.encode()) > MAX_GUEST_CONFIG_BYTES:
        findings.deny(
            f"spec.scheduler.guestConfig is {len(config.encode())} bytes; at most "
            f"{MAX_GUEST_CONFIG_BYTES} (UTF-8) fit; move bulky data into the plugin or shrink it"
        )


def _limits(spec: WasmPluginSpec, findings: Findings) -> None:
    limits = spec.limits
    if limits.call_timeout_ms > limits.start_timeout_ms * 10:
        findings.warn(
            f"spec.limits.callTimeoutMs ({limits.call_timeout_ms}) is more than ten times "
            f"spec.limits.startTimeoutMs ({limits.start_timeout_ms}); one scheduling call "
            "rarely needs longer than starting the module, check the units (milliseconds)"
        )


def _schedulers(spec: WasmPluginSpec, lookup: Lookup, findings: Findings) -> None:
    for index, name in enumerate(spec.scheduler.schedulers):
        try:
            exists = lookup.scheduler_exists(name)
        except LookupFailed:
            continue
        if not exists:
            findings.warn(
                f"spec.scheduler.schedulers[{index}]: WasmScheduler {name} does not exist yet; "
                "the plugin waits in Staging until you create it (kubectl apply -f "
                "docs/examples/wasmscheduler.yaml)"
            )


def _scheduler_room(
    request: Mapping[str, Any], spec: WasmPluginSpec, lookup: Lookup, findings: Findings
) -> None:
    """Refuse a plugin that would be one too many for a WasmScheduler it newly names.

    Only a newly named scheduler counts: editing a plugin the scheduler already loads adds
    nothing, even when plugins that slipped past (webhook down) put it over the limit."""
    name = ((request.get("object") or {}).get("metadata") or {}).get("name", "")
    before: set[str] = set()
    if request.get("operation") == "UPDATE" and request.get("oldObject"):
        before = set(scheduler_names(request["oldObject"]))
    for index, scheduler in enumerate(spec.scheduler.schedulers):
        if scheduler in before:
            continue
        try:
            others = set(lookup.scheduler_plugins(scheduler)) - {name}
        except LookupFailed:
            continue  # the operator enforces the limit too
        if len(others) >= MAX_SCHEDULER_PLUGINS:
            findings.deny(
                f"spec.scheduler.schedulers[{index}]: WasmScheduler {scheduler} already loads "
                f"{len(others)} WasmPlugins, the most one scheduler may ({MAX_SCHEDULER_PLUGINS}); "
                "name another WasmScheduler here (create one from "
                "docs/examples/wasmscheduler.yaml with its own name), or delete a WasmPlugin "
                f"that names {scheduler}",
                reason=PLUGIN_LIMIT_EXCEEDED,
            )


def _policies(
    spec: WasmPluginSpec, reference: Reference, lookup: Lookup, findings: Findings
) -> None:
    try:
        policies = lookup.trust_policies()
    except LookupFailed as e:
        findings.warn(
            f"could not read WasmTrustPolicies ({e.message}); the operator enforces "
            "them before the plugin is pulled"
        )
        return
    for policy in policies:
        name = policy.get("metadata", {}).get("name", "?")
        mode = (policy.get("spec") or {}).get("mode", PolicyMode.ENFORCE.value)
        for sentence in trust_policy.violations(policy, spec, reference):
            if mode == PolicyMode.WARN.value:
                findings.warn(f"WasmTrustPolicy {name} (mode Warn) would refuse: {sentence}")
            else:
                findings.deny(sentence, reason="PolicyViolation")
        note = trust_policy.size_warning(policy, spec)
        if note:
            findings.warn(note)


def _source_changed(request: Mapping[str, Any], findings: Findings) -> None:
    old = request.get("oldObject") or {}
    new = request.get("object") or {}
    before = (old.get("spec") or {}).get("source")
    after = (new.get("spec") or {}).get("source")
    if request.get("operation") == "UPDATE" and before is not None and before != after:
        findings.warn(
            "spec.source changed: wasmgate resolves, verifies and validates the new source "
            "from scratch before it reaches any scheduler"
        )


def review_wasmplugin(request: Mapping[str, Any], lookup: Lookup) -> AdmissionDecision:
    """Admit or refuse a WasmPlugin CREATE/UPDATE (`request` is an AdmissionReview request)."""
    findings = Findings()
    plugin = model_errors.parse_object(WasmPlugin, request, findings)
    if plugin is None:
        return findings.decision()
    spec = plugin.spec
    reference = _reference(spec, findings)
    _guest_config(spec, findings)
    _limits(spec, findings)
    if spec.source.pull_secret_ref is not None:
        ref = spec.source.pull_secret_ref.to_json()
        check_pull_secret_ref(ref, "spec.source.pullSecretRef", lookup, findings)
    if spec.verify is not None:
        check_signer_refs(spec.verify.to_json(), "spec.verify.", lookup, findings)
    _schedulers(spec, lookup, findings)
    _scheduler_room(request, spec, lookup, findings)
    if reference is not None:
        _policies(spec, reference, lookup, findings)
    _source_changed(request, findings)
    return findings.decision()
