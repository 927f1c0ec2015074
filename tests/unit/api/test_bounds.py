"""Every bound and format is refused by the models AND by the generated CRD, with a useful message.

Each case starts from a committed example, changes one field, and asserts what the model says
(pydantic error location and message) and what the apiserver would say (OpenAPI and CEL, see
api_server.py). A case where the CRD cannot check (a Python-only check) says so explicitly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from support.api_samples import REPO, load, openapi_schema
from support.api_server import server_errors
from wasmgate.api.kinds import KINDS

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
EXAMPLE = {
    "WasmPlugin": "wasmplugin.yaml",
    "WasmScheduler": "wasmscheduler.yaml",
    "WasmTrustPolicy": "wasmtrustpolicy.yaml",
}
NODE_CACHE = {
    "apiVersion": "wasmgate.dev/v1alpha1",
    "kind": "WasmNodeCache",
    "metadata": {"name": "worker-1"},
    "spec": {"nodeName": "worker-1"},
}
DELETE = object()


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    path: tuple[str | int, ...]
    value: Any
    model_says: str  # a fragment of the pydantic message
    server_says: str | None  # a fragment of the apiserver error; None: only admission checks it
    extra: tuple[tuple[tuple[str | int, ...], Any], ...] = ()


def _plugin(
    path: tuple[str | int, ...], value: Any, model: str, server: str | None, **kw: Any
) -> Case:
    return Case(kw.pop("id"), "WasmPlugin", ("spec", *path), value, model, server, **kw)


CASES = [
    _plugin(
        ("source", "image"),
        "ghcr.io/acme/plugin",
        "has no tag or digest",
        "has no tag or digest",
        id="image_without_tag_or_digest",
    ),
    _plugin(
        ("source", "image"),
        "registry:5000/acme/plugin",
        "has no tag or digest",
        "has no tag or digest",
        id="image_with_port_but_no_tag",
    ),
    _plugin(
        ("source", "image"),
        "ghcr.io/Acme/plugin:v1",
        "must be an OCI reference",
        "must be an OCI reference",
        id="image_uppercase_repository",
    ),
    _plugin(
        ("source", "image"),
        "ghcr.io/acme/plugin@sha512:" + "a" * 128,
        "must be an OCI reference",
        "must be an OCI reference",
        id="image_sha512_digest",
    ),
    _plugin(
        ("source", "image"),
        "r.io/" + "a" * 600 + ":v1",
        "at most 512 characters",
        "may not be more than 512",
        id="image_too_long",
    ),
    _plugin(
        ("source", "digest"),
        "sha512:abc",
        'must be "sha256:" followed by 64',
        'must be "sha256:" followed by 64',
        id="digest_not_sha256",
    ),
    _plugin(
        ("source", "digest"),
        "sha256:" + "A" * 64,
        'must be "sha256:" followed by 64',
        'must be "sha256:" followed by 64',
        id="digest_uppercase_hex",
    ),
    _plugin(
        ("source", "digest"),
        DIGEST_B,
        "differs from the digest in spec.source.image",
        "differs from the digest in spec.source.image",
        id="digest_differs_from_image",
        extra=((("spec", "source", "image"), "ghcr.io/acme/plugin@" + DIGEST_A),),
    ),
    _plugin(
        ("source", "maxSize"),
        10,
        "greater than or equal to 1024",
        "greater than or equal to 1024",
        id="max_size_below_1KiB",
    ),
    _plugin(
        ("source", "maxSize"),
        2**30,
        "less than or equal to 134217728",
        "less than or equal to 134217728",
        id="max_size_above_128MiB",
    ),
    _plugin(
        ("source", "pullPolicy"),
        "Never",
        "'IfNotPresent' or 'Always'",
        "Unsupported value",
        id="pull_policy_never",
    ),
    _plugin(
        ("source", "pullSecretRef", "namespace"),
        "team.a",
        "RFC 1123 label",
        "RFC 1123 label",
        id="pull_secret_namespace_with_dot",
    ),
    _plugin(
        ("verify",),
        {},
        "lists no key and no keyless identity",
        "lists no key and no keyless identity",
        id="verify_empty",
    ),
    _plugin(
        ("verify", "keys"),
        [{"secretRef": {"name": f"k{i}", "namespace": "ns"}} for i in range(17)],
        "at most 16 items",
        "must have at most 16 items",
        id="verify_17_keys",
    ),
    _plugin(
        ("verify", "keys", 0, "secretRef", "name"),
        "Team_Key",
        "RFC 1123 name",
        "RFC 1123 name",
        id="key_secret_name_underscore",
    ),
    _plugin(
        ("verify", "keys", 0, "secretRef", "key"),
        "cosign pub",
        "Secret data key",
        "Secret data key",
        id="key_secret_key_with_space",
    ),
    _plugin(
        ("verify", "keyless", 0, "subject"),
        "release@example.com",
        "mutually exclusive",
        "mutually exclusive",
        id="keyless_subject_and_regexp",
    ),
    _plugin(
        ("verify", "keyless", 0, "subjectRegExp"),
        DELETE,
        "set subject (exact match) or subjectRegExp",
        "set subject (exact match) or subjectRegExp",
        id="keyless_without_subject",
    ),
    _plugin(
        ("verify", "keyless", 0, "issuer"),
        "token.actions.githubusercontent.com",
        "must be the OIDC issuer URL",
        "must be the OIDC issuer URL",
        id="keyless_issuer_without_scheme",
    ),
    _plugin(
        ("verify", "keyless", 0, "subjectRegExp"),
        "release-(v1",
        "not a valid regular expression",
        None,
        id="keyless_regexp_does_not_compile",
    ),
    _plugin(
        ("verify", "trustedRootRef"),
        {"name": "root", "namespace": "wasmgate-system"},
        "only used to check keyless",
        "only used to check keyless",
        id="trusted_root_without_keyless",
        extra=((("spec", "verify", "keyless"), []),),
    ),
    _plugin(
        ("scheduler", "schedulers"),
        [],
        "at least 1 item",
        "at least 1 items",
        id="schedulers_empty",
    ),
    _plugin(
        ("scheduler", "schedulers"),
        ["a", "a"],
        "duplicate entry 'a'",
        "Duplicate value",
        id="schedulers_duplicate",
    ),
    _plugin(
        ("scheduler", "schedulers"),
        ["Wasm_Scheduler"],
        "RFC 1123 name",
        "RFC 1123 name",
        id="scheduler_name_uppercase",
    ),
    _plugin(
        ("scheduler", "guestConfig"),
        "é" * 40000,
        "larger than 65536 bytes",
        "larger than 65536 bytes",
        id="guest_config_over_64KiB_in_utf8",
    ),
    _plugin(
        ("scheduler", "guestConfig"),
        "x" * 65537,
        "at most 65536 characters",
        "may not be more than 65536",
        id="guest_config_over_64Ki_chars",
    ),
    _plugin(
        ("scheduler", "logSeverity"),
        "info",
        "'Info', 'Warning', 'Error' or 'Fatal'",
        "Unsupported value",
        id="log_severity_lowercase",
    ),
    _plugin(
        ("scheduler", "weight"),
        0,
        "greater than or equal to 1",
        "greater than or equal to 1",
        id="weight_zero",
    ),
    _plugin(
        ("scheduler", "weight"),
        101,
        "less than or equal to 100",
        "less than or equal to 100",
        id="weight_101",
    ),
    _plugin(
        ("limits", "fuel"),
        10,
        "greater than or equal to 10000",
        "greater than or equal to 10000",
        id="fuel_too_small",
    ),
    _plugin(
        ("limits", "memoryPages"),
        16385,
        "less than or equal to 16384",
        "less than or equal to 16384",
        id="memory_pages_above_1GiB",
    ),
    _plugin(
        ("limits", "callTimeoutMs"),
        0,
        "greater than or equal to 1",
        "greater than or equal to 1",
        id="call_timeout_zero",
    ),
    _plugin(("source",), DELETE, "Field required", "Required value", id="source_missing"),
    Case(
        "scheduler_name_default_scheduler",
        "WasmScheduler",
        ("spec", "schedulerName"),
        "default-scheduler",
        "must not be default-scheduler",
        "must not be default-scheduler",
    ),
    Case(
        "scheduler_image_without_tag",
        "WasmScheduler",
        ("spec", "image"),
        "registry.example.com/scheduler",
        "has no tag or digest",
        "has no tag or digest",
    ),
    Case(
        "replicas_zero",
        "WasmScheduler",
        ("spec", "replicas"),
        0,
        "greater than or equal to 1",
        "greater than or equal to 1",
    ),
    Case(
        "node_selector_key_too_long",
        "WasmScheduler",
        ("spec", "nodeSelector"),
        {"a" * 318: "x"},
        "at most 317 characters",
        "at most 317 characters",
    ),
    Case(
        "node_selector_33_entries",
        "WasmScheduler",
        ("spec", "nodeSelector"),
        {f"k{i}": "v" for i in range(33)},
        "at most 32 items",
        "must have at most 32 items",
    ),
    Case(
        "node_selector_key_with_space",
        "WasmScheduler",
        ("spec", "nodeSelector"),
        {"zone a": "x"},
        "is not a label key",
        None,
    ),
    Case(
        "node_selector_value_with_slash",
        "WasmScheduler",
        ("spec", "nodeSelector"),
        {"zone": "eu/1"},
        "is not a label value",
        None,
    ),
    Case(
        "toleration_exists_with_value",
        "WasmScheduler",
        ("spec", "tolerations", 0, "value"),
        "yes",
        "operator Exists matches any value",
        "operator Exists matches any value",
    ),
    Case(
        "toleration_equal_without_key",
        "WasmScheduler",
        ("spec", "tolerations", 0, "operator"),
        "Equal",
        "without key must use operator Exists",
        "without key must use operator Exists",
        extra=((("spec", "tolerations", 0, "key"), DELETE),),
    ),
    Case(
        "base_profile_with_scheduler_name",
        "WasmScheduler",
        ("spec", "baseProfile", "schedulerName"),
        "x",
        "set by wasmgate from spec.schedulerName",
        "set by wasmgate from spec.schedulerName",
    ),
    Case(
        "base_profile_over_64KiB",
        "WasmScheduler",
        ("spec", "baseProfile", "pluginConfig"),
        ["x" * 70000],
        "keep it under 65536",
        None,
    ),
    Case(
        "revision_history_zero",
        "WasmScheduler",
        ("spec", "rollout", "revisionHistoryLimit"),
        0,
        "greater than or equal to 1",
        "greater than or equal to 1",
    ),
    Case(
        "progress_deadline_10s",
        "WasmScheduler",
        ("spec", "rollout", "progressDeadlineSeconds"),
        10,
        "greater than or equal to 30",
        "greater than or equal to 30",
    ),
    Case(
        "policy_mode_lowercase",
        "WasmTrustPolicy",
        ("spec", "mode"),
        "enforce",
        "'Enforce' or 'Warn'",
        "Unsupported value",
    ),
    Case(
        "policy_registry_glob_with_space",
        "WasmTrustPolicy",
        ("spec", "allowedRegistries", 0),
        "ghcr.io/acme /*",
        "repository glob",
        "repository glob",
    ),
    Case(
        "policy_65_registries",
        "WasmTrustPolicy",
        ("spec", "allowedRegistries"),
        [f"r{i}.io/*" for i in range(65)],
        "at most 64 items",
        "must have at most 64 items",
    ),
    Case(
        "policy_signers_without_signatures",
        "WasmTrustPolicy",
        ("spec", "signatureRequired"),
        False,
        "set signatureRequired to true",
        "set signatureRequired to true",
    ),
    Case(
        "policy_max_size_too_small",
        "WasmTrustPolicy",
        ("spec", "maxSize"),
        100,
        "greater than or equal to 1024",
        "greater than or equal to 1024",
    ),
    Case(
        "node_cache_named_after_other_node",
        "WasmNodeCache",
        ("spec", "nodeName"),
        "worker-2",
        "must equal metadata.name",
        "must equal metadata.name",
    ),
]


def _base(kind: str) -> dict[str, Any]:
    if kind == "WasmNodeCache":
        return copy.deepcopy(NODE_CACHE)
    return load(REPO / "docs" / "examples" / EXAMPLE[kind])


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value


def _broken(case: Case) -> dict[str, Any]:
    data = _base(case.kind)
    for path, value in case.extra:
        _set(data, path, value)
    _set(data, case.path, case.value)
    return data


def _related(loc: tuple[Any, ...], path: tuple[Any, ...]) -> bool:
    shorter = min(len(loc), len(path))
    return loc[:shorter] == path[:shorter]


def test_the_unbroken_bases_are_valid() -> None:
    for kind in KINDS:
        data = _base(kind)
        KINDS[kind].model.model_validate(data)
        assert server_errors(openapi_schema(kind), data) == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_model_refuses(case: Case) -> None:
    with pytest.raises(ValidationError) as caught:
        KINDS[case.kind].model.model_validate(_broken(case))
    errors = caught.value.errors()
    matching = [error for error in errors if case.model_says in error["msg"]]
    assert matching, [error["msg"] for error in errors]
    # The error sits at the changed field, inside it, or at the object holding it.
    locations = [tuple(error["loc"]) for error in matching]
    assert any(_related(loc, case.path) for loc in locations), locations


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_crd_refuses(case: Case) -> None:
    errors = server_errors(openapi_schema(case.kind), _broken(case))
    if case.server_says is None:
        assert errors == [], "the CRD checks this after all; say what it answers"
        return
    assert any(case.server_says in error for error in errors), errors
