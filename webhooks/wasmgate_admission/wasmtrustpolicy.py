"""Admission of WasmTrustPolicy CREATE and UPDATE: its own key material must load.

A policy whose key Secret is missing or holds a private key would refuse every plugin at
reconcile time with a confusing SignatureUntrusted; refusing the policy names the real cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.wasmtrustpolicy import PolicyMode, WasmTrustPolicy
from wasmgate_admission import model_errors
from wasmgate_admission.decision import AdmissionDecision, Findings
from wasmgate_admission.lookup import Lookup
from wasmgate_admission.secret_refs import check_signer_refs


def review_wasmtrustpolicy(request: Mapping[str, Any], lookup: Lookup) -> AdmissionDecision:
    """Admit or refuse a WasmTrustPolicy CREATE/UPDATE."""
    findings = Findings()
    policy = model_errors.parse_object(WasmTrustPolicy, request, findings)
    if policy is None:
        return findings.decision()
    check_signer_refs(policy.spec.to_json(), "spec.", lookup, findings)
    if policy.spec.mode == PolicyMode.ENFORCE and not policy.spec.signature_required:
        findings.warn(
            "spec.signatureRequired is false: unsigned plugins are admitted; set it to true "
            "unless every plugin comes from a registry you control"
        )
    return findings.decision()
