from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from support.table_lookup import PRIVATE_PEM, PUBLIC_PEM, TableLookup, secret
from wasmgate_admission.wasmplugin import review_wasmplugin

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
TEAM_KEY = [{"secretRef": {"name": "team", "namespace": "ops"}}]


def _plugin() -> dict[str, Any]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": "spread", "managedFields": [{"manager": "kubectl"}]},
        "spec": {
            "source": {
                "image": "registry.example.com/scheduling/spread:v1",
                "pullSecretRef": {"name": "pull", "namespace": "ops"},
            },
            "verify": {"keys": TEAM_KEY},
            "scheduler": {"schedulers": ["wasmgate-scheduler"]},
        },
    }


def _lookup() -> TableLookup:
    return TableLookup(
        secrets={
            ("ops", "team"): secret({"cosign.pub": PUBLIC_PEM}),
            ("ops", "private"): secret({"cosign.pub": PRIVATE_PEM}),
            ("ops", "pull"): secret({".dockerconfigjson": b'{"auths": {}}'}),
            ("ops", "not-docker"): secret({".dockerconfigjson": b"[]"}),
            ("ops", "root"): secret({"trusted_root.json": b"not json"}),
        },
        schedulers={"wasmgate-scheduler"},
    )


def _policy(name: str, mode: str = "Enforce", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"mode": mode, "signatureRequired": True, **spec}}


Edit = Callable[[dict[str, Any], TableLookup], None]


def _set(path: str, value: Any) -> Edit:
    def edit(plugin: dict[str, Any], _: TableLookup) -> None:
        *parents, last = path.split(".")
        target = plugin
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value

    return edit


def _drop_verify(plugin: dict[str, Any], _: TableLookup) -> None:
    del plugin["spec"]["verify"]


def _add_policy(policy: dict[str, Any]) -> Edit:
    def edit(_: dict[str, Any], lookup: TableLookup) -> None:
        lookup.policies.append(policy)

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(plugin: dict[str, Any], lookup: TableLookup) -> None:
        for each in edits:
            each(plugin, lookup)

    return edit


DENIED = [
    pytest.param(
        _set("spec.source.image", "registry.example.com:1234567/x/spread:v1"),
        "InvalidSpec",
        'spec.source.image: "registry.example.com:1234567/x/spread:v1" has an invalid registry '
        'host "registry.example.com:1234567"',
        id="image_registry_port_too_long",
    ),
    pytest.param(
        _set("spec.source.image", "registry.example.com/x/spread"),
        "InvalidSpec",
        'spec.source.image has no tag or digest; add ":v1" (a tag) or "@sha256:..." (a digest)',
        id="image_without_tag_is_refused_by_the_model",
    ),
    pytest.param(
        _set("spec.source", {"image": f"r.example.com/x/s@{DIGEST_A}", "digest": DIGEST_B}),
        "InvalidSpec",
        "spec.source.digest differs from the digest in spec.source.image; make them equal",
        id="digest_contradicts_image",
    ),
    pytest.param(
        _set("spec.scheduler.guestConfig", "é" * 40_000),
        "InvalidSpec",
        "spec.scheduler.guestConfig is larger than 65536 bytes (UTF-8)",
        id="guest_config_over_64k_bytes",
    ),
    pytest.param(
        _set("spec.limits", {"fuel": 5}),
        "InvalidSpec",
        "spec.limits.fuel: Input should be greater than or equal to 10000",
        id="fuel_below_minimum",
    ),
    pytest.param(
        _set("spec.verify.keys", [{"secretRef": {"name": "absent", "namespace": "ops"}}]),
        "InvalidSpec",
        "spec.verify.keys[0].secretRef: Secret ops/absent does not exist; create it first "
        "(cosign generate-key-pair k8s://ops/absent) or fix spec.verify.keys[0].secretRef.name/"
        "namespace",
        id="key_secret_missing",
    ),
    pytest.param(
        _set("spec.verify.keys", [{"secretRef": {"name": "private", "namespace": "ops"}}]),
        "InvalidSpec",
        "spec.verify.keys[0].secretRef: Secret ops/private key 'cosign.pub': not a PEM public "
        "key (-----BEGIN PUBLIC KEY-----); give cosign.pub, not the private key",
        id="key_secret_holds_private_key",
    ),
    pytest.param(
        _set(
            "spec.verify.keys",
            [{"secretRef": {"name": "team", "namespace": "ops", "key": "other.pub"}}],
        ),
        "InvalidSpec",
        "spec.verify.keys[0].secretRef: Secret ops/team has no key 'other.pub' (keys: "
        "cosign.pub); set spec.verify.keys[0].secretRef.key to the key that holds it",
        id="key_secret_lacks_entry",
    ),
    pytest.param(
        _set(
            "spec.verify",
            {
                "keyless": [{"issuer": "https://accounts.google.com", "subject": "a@example.com"}],
                "trustedRootRef": {"name": "root", "namespace": "ops"},
            },
        ),
        "InvalidSpec",
        "spec.verify.trustedRootRef: Secret ops/root key 'trusted_root.json' is not JSON; store "
        "the output of `cosign trusted-root create` there",
        id="trusted_root_not_json",
    ),
    pytest.param(
        _set("spec.source.pullSecretRef", {"name": "absent", "namespace": "ops"}),
        "InvalidSpec",
        "spec.source.pullSecretRef: Secret ops/absent does not exist; create it first (kubectl "
        "create secret docker-registry absent -n ops",
        id="pull_secret_missing",
    ),
    pytest.param(
        _set("spec.source.pullSecretRef", {"name": "not-docker", "namespace": "ops"}),
        "InvalidSpec",
        'spec.source.pullSecretRef: Secret ops/not-docker .dockerconfigjson has no "auths" object',
        id="pull_secret_not_docker_config",
    ),
    pytest.param(
        _add_policy(_policy("only-ghcr", allowedRegistries=["ghcr.io/acme/*"])),
        "PolicyViolation",
        "spec.source.image: registry.example.com/scheduling/spread is not in the registries "
        "WasmTrustPolicy only-ghcr allows (ghcr.io/acme/*); push the plugin to one of them or "
        "ask the cluster admin to extend spec.allowedRegistries",
        id="registry_not_allowed",
    ),
    pytest.param(
        _both(_drop_verify, _add_policy(_policy("p"))),
        "PolicyViolation",
        "spec.verify: WasmTrustPolicy p requires a signature, but neither the plugin nor the "
        "policy names a signer; add spec.verify.keys",
        id="unsigned_under_signature_policy",
    ),
]


@pytest.mark.parametrize(("edit", "reason", "message"), DENIED)
def test_denied(edit: Edit, reason: str, message: str) -> None:
    plugin, lookup = _plugin(), _lookup()
    edit(plugin, lookup)
    verdict = review_wasmplugin({"operation": "CREATE", "object": plugin}, lookup)
    assert not verdict.allowed
    assert verdict.reason == reason
    assert message in verdict.message, verdict.message


ADMITTED = [
    pytest.param(lambda plugin, lookup: None, [], id="example_plugin_clean"),
    pytest.param(
        _add_policy(_policy("ours", allowedRegistries=["registry.example.com/**"])),
        [],
        id="double_star_crosses_segments",
    ),
    pytest.param(
        _add_policy(_policy("trial", mode="Warn", allowedRegistries=["ghcr.io/acme/*"])),
        [
            "WasmTrustPolicy trial (mode Warn) would refuse: spec.source.image: "
            "registry.example.com/scheduling/spread is not in the registries WasmTrustPolicy "
            "trial allows (ghcr.io/acme/*)"
        ],
        id="warn_mode_registry",
    ),
    pytest.param(
        _both(
            _drop_verify,
            _add_policy(_policy("keys", keys=TEAM_KEY)),
        ),
        [],
        id="policy_signers_suffice_without_plugin_verify",
    ),
    pytest.param(
        _add_policy(_policy("small", maxSize=1024)),
        ["spec.source.maxSize: 16777216 bytes is above WasmTrustPolicy small's maxSize 1024"],
        id="policy_max_size_lowers_cap_with_warning",
    ),
    pytest.param(
        _set("spec.scheduler.schedulers", ["later"]),
        ["spec.scheduler.schedulers[0]: WasmScheduler later does not exist yet"],
        id="missing_scheduler_warns",
    ),
    pytest.param(
        _set("spec.limits", {"callTimeoutMs": 10_000, "startTimeoutMs": 10}),
        ["spec.limits.callTimeoutMs (10000) is more than ten times spec.limits.startTimeoutMs"],
        id="limits_odd_ratio_warns",
    ),
    pytest.param(
        lambda plugin, lookup: setattr(lookup, "broken", True),
        [
            "spec.source.pullSecretRef: could not read Secret ops/pull (HTTP 403 Forbidden)",
            "spec.verify.keys[0].secretRef: could not read Secret ops/team (HTTP 403 Forbidden)",
            "could not read WasmTrustPolicies (HTTP 403 Forbidden)",
        ],
        id="lookup_failure_warns_instead_of_blocking",
    ),
]


@pytest.mark.parametrize(("edit", "warnings"), ADMITTED)
def test_admitted(edit: Edit, warnings: list[str]) -> None:
    plugin, lookup = _plugin(), _lookup()
    edit(plugin, lookup)
    verdict = review_wasmplugin({"operation": "CREATE", "object": plugin}, lookup)
    assert verdict.allowed, verdict.message
    assert len(verdict.warnings) == len(warnings), verdict.warnings
    for got, expected in zip(verdict.warnings, warnings, strict=True):
        assert got.startswith(expected), got


@pytest.mark.parametrize(
    ("new_image", "warned"),
    [("registry.example.com/scheduling/spread:v2", True), (None, False)],
    ids=["source_changed", "source_unchanged"],
)
def test_update_of_source_warns_that_verification_restarts(
    new_image: str | None, warned: bool
) -> None:
    old = _plugin()
    new = copy.deepcopy(old)
    new["spec"]["scheduler"]["weight"] = 5
    if new_image:
        new["spec"]["source"]["image"] = new_image
    request = {"operation": "UPDATE", "object": new, "oldObject": old}
    verdict = review_wasmplugin(request, _lookup())
    assert verdict.allowed
    notes = [w for w in verdict.warnings if w.startswith("spec.source changed: wasmgate resolves")]
    assert bool(notes) is warned
