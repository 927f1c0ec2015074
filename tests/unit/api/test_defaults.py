"""Defaults: what an almost empty object means, identical in Python and in the apiserver.

The models fill defaults when the operator parses an object; the apiserver fills the CRD's
defaults when it stores one. Both must produce the same spec, or the operator and `kubectl get
-o yaml` would disagree about what a plugin asked for.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.api_samples import openapi_schema
from support.api_server import apply_defaults
from wasmgate.api.kinds import KINDS
from wasmgate.api.wasmplugin import LogSeverity, PullPolicy, WasmPlugin
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.api.wasmtrustpolicy import PolicyMode, WasmTrustPolicy

MINIMAL: dict[str, dict[str, Any]] = {
    "WasmPlugin": {"metadata": {"name": "p"}, "spec": {"source": {"image": "ghcr.io/acme/p:v1"}}},
    "WasmScheduler": {"metadata": {"name": "s"}, "spec": {"image": "ghcr.io/acme/sched:v1"}},
    "WasmTrustPolicy": {"metadata": {"name": "t"}},
    "WasmNodeCache": {"metadata": {"name": "n"}, "spec": {"nodeName": "n"}},
}
NESTED: dict[str, dict[str, Any]] = {
    "WasmPlugin": {"verify": {"keys": [{"secretRef": {"name": "k", "namespace": "ns"}}],
                              "keyless": [{"issuer": "https://i", "subject": "s"}],
                              "trustedRootRef": {"name": "r", "namespace": "ns"}}},
    "WasmScheduler": {"tolerations": [{"key": "k"}]},
    "WasmTrustPolicy": {"keys": [{"secretRef": {"name": "k", "namespace": "ns"}}]},
}  # fmt: skip


def _plugin() -> WasmPlugin:
    return WasmPlugin.model_validate(MINIMAL["WasmPlugin"])


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda p: p.spec.source.pull_policy, PullPolicy.IF_NOT_PRESENT),
        (lambda p: p.spec.source.max_size, 16 * 1024 * 1024),
        (lambda p: p.spec.source.digest, None),
        (lambda p: p.spec.verify, None),
        (lambda p: p.spec.scheduler.schedulers, ["wasmgate-scheduler"]),
        (lambda p: p.spec.scheduler.guest_config, None),
        (lambda p: p.spec.scheduler.log_severity, LogSeverity.INFO),
        (lambda p: p.spec.scheduler.weight, 1),
        (lambda p: p.spec.limits.fuel, 100_000_000),
        (lambda p: p.spec.limits.memory_pages, 1024),
        (lambda p: p.spec.limits.call_timeout_ms, 100),
        (lambda p: p.spec.limits.start_timeout_ms, 1000),
        (lambda p: p.status, None),
        (lambda p: p.api_version, "wasmgate.dev/v1alpha1"),
        (lambda p: p.kind, "WasmPlugin"),
    ],
    ids=["pullPolicy", "maxSize", "digest", "verify", "schedulers", "guestConfig", "logSeverity",
         "weight", "fuel", "memoryPages", "callTimeoutMs", "startTimeoutMs", "status",
         "apiVersion", "kind"],
)  # fmt: skip
def test_plugin_defaults(read: Any, expected: Any) -> None:
    assert read(_plugin()) == expected


def test_scheduler_defaults() -> None:
    spec = WasmScheduler.model_validate(MINIMAL["WasmScheduler"]).spec
    assert spec.scheduler_name is None
    assert (spec.replicas, spec.node_selector, spec.tolerations, spec.base_profile) == (
        1,
        {},
        [],
        {},
    )
    rollout = spec.rollout
    assert (rollout.progress_deadline_seconds, rollout.automatic_rollback) == (600, True)
    assert rollout.revision_history_limit == 5


def test_trust_policy_defaults_demand_signatures_and_enforce() -> None:
    spec = WasmTrustPolicy.model_validate(MINIMAL["WasmTrustPolicy"]).spec
    assert spec.mode is PolicyMode.ENFORCE
    assert spec.signature_required is True
    assert (spec.allowed_registries, spec.keys, spec.keyless, spec.max_size) == ([], [], [], None)


def test_secret_key_defaults_follow_cosign_and_sigstore() -> None:
    verify = WasmPlugin.model_validate(
        {**MINIMAL["WasmPlugin"], "spec": {**MINIMAL["WasmPlugin"]["spec"], **NESTED["WasmPlugin"]}}
    ).spec.verify
    assert verify is not None
    assert verify.keys[0].secret_ref.key == "cosign.pub"
    assert verify.trusted_root_ref is not None
    assert verify.trusted_root_ref.key == "trusted_root.json"


@pytest.mark.parametrize("kind", list(KINDS))
def test_apiserver_defaults_equal_model_defaults(kind: str) -> None:
    obj = {"apiVersion": "wasmgate.dev/v1alpha1", "kind": kind, **MINIMAL[kind]}
    obj["spec"] = {**obj.get("spec", {}), **NESTED.get(kind, {})}
    by_apiserver = apply_defaults(openapi_schema(kind), obj)
    by_model = KINDS[kind].model.model_validate(obj).to_json()
    assert by_apiserver["spec"] == by_model["spec"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_apiserver_status_defaults_equal_model_defaults(kind: str) -> None:
    status_schema = openapi_schema(kind)["properties"]["status"]
    status_model = KINDS[kind].model.model_fields["status"].annotation
    empty_by_apiserver = apply_defaults(status_schema, {})
    empty_by_model = (
        KINDS[kind].model.model_validate({**MINIMAL[kind], "status": {}}).to_json()["status"]
    )
    # Summaries are derived from counts, not defaulted; the operator always writes them.
    empty_by_model.pop("summary", None)
    assert empty_by_apiserver == empty_by_model, status_model
