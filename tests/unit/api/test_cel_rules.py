"""Each CEL rule in the CRDs compiles, and means what its Python twin means, case by case.

The admission webhook validates with the models (Python), the apiserver with CEL; a rule whose
two halves disagree would let one of them accept what the other refuses. Every rule needs cases
on both sides of the line here, or the coverage test fails.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from support.api_samples import openapi_schema
from support.api_server import all_rules, compile_rule, holds
from wasmgate.api.cel import Rule
from wasmgate.api.kinds import KINDS

DIGEST = "sha256:" + "0123456789abcdef" * 4


def _rules_in_annotation(annotation: Any) -> Iterator[Rule]:
    for argument in typing.get_args(annotation):
        if isinstance(argument, Rule):
            yield argument
        elif isinstance(argument, type) and issubclass(argument, BaseModel):
            yield from _rules_in_model(argument)
        else:
            yield from _rules_in_annotation(argument)


def _rules_in_model(model: type[BaseModel]) -> Iterator[Rule]:
    yield from getattr(model, "cel_rules", ())
    for field in model.model_fields.values():
        yield from (item for item in field.metadata if isinstance(item, Rule))
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rules_in_model(annotation)
        else:
            yield from _rules_in_annotation(annotation)


def model_rules() -> list[Rule]:
    """Every Rule the models declare, once each."""
    found: dict[tuple[str, str], Rule] = {}
    for info in KINDS.values():
        for rule in _rules_in_model(info.model):
            found.setdefault((rule.rule, rule.message), rule)
    return list(found.values())


def crd_rules() -> list[tuple[str, dict[str, str]]]:
    return [(kind, rule) for kind in KINDS for rule in all_rules(openapi_schema(kind))]


RULES = model_rules()
IMAGE_LONG_PATH = "registry.example.com:5000/" + "/".join(["team"] * 10) + "/plugin:v1.0.0-rc.1"

# (fragment of the rule's message, JSON value the rule sees, whether the value is allowed)
CASES: list[tuple[str, Any, bool]] = [
    ("spec.source.image must be an OCI reference", "ghcr.io/acme/plugin:v1", True),
    ("spec.source.image must be an OCI reference", "localhost:5000/plugin@" + DIGEST, True),
    ("spec.source.image must be an OCI reference", "plugin:v1", True),
    ("spec.source.image must be an OCI reference", "a.b.c/x__y/z-w--v.u:T_1.2-3", True),
    ("spec.source.image must be an OCI reference", IMAGE_LONG_PATH, True),
    ("spec.source.image must be an OCI reference", "ghcr.io/acme/plugin:v1@" + DIGEST, True),
    ("spec.source.image must be an OCI reference", "ghcr.io/ACME/plugin:v1", False),
    ("spec.source.image must be an OCI reference", "ghcr.io/acme/plugin:", False),
    ("spec.source.image must be an OCI reference", "ghcr.io/acme/plugin:-v1", False),
    ("spec.source.image must be an OCI reference", "https://ghcr.io/acme/plugin:v1", False),
    ("spec.source.image must be an OCI reference", "ghcr.io/acme//plugin:v1", False),
    ("spec.source.image must be an OCI reference", "ghcr.io/acme/plugin@sha256:abc", False),
    ("spec.source.image must be an OCI reference", " ghcr.io/acme/plugin:v1", False),
    ("spec.source.image has no tag or digest", "ghcr.io/acme/plugin:v1", True),
    ("spec.source.image has no tag or digest", "ghcr.io/acme/plugin@" + DIGEST, True),
    ("spec.source.image has no tag or digest", "ghcr.io:443/acme/plugin", False),
    ("spec.source.image has no tag or digest", "plugin", False),
    ("spec.image must be an OCI reference", "registry.example.com/scheduler:v1", True),
    ("spec.image must be an OCI reference", "Registry.Example.com/scheduler:v1", True),
    ("spec.image must be an OCI reference", "registry.example.com/Scheduler:v1", False),
    ("spec.image has no tag or digest", "registry.example.com/scheduler:v1", True),
    ("spec.image has no tag or digest", "registry.example.com:443/scheduler", False),
    ("spec.source.digest must be", DIGEST, True),
    ("spec.source.digest must be", DIGEST + "0", False),
    ("spec.source.digest must be", DIGEST.upper(), False),
    ("spec.source.digest must be", "sha256:" + DIGEST, False),
    ("spec.source.digest differs", {"image": "a/b:v1", "digest": DIGEST}, True),
    ("spec.source.digest differs", {"image": "a/b@" + DIGEST, "digest": DIGEST}, True),
    ("spec.source.digest differs", {"image": "a/b@" + DIGEST}, True),
    (
        "spec.source.digest differs",
        {"image": "a/b@" + DIGEST, "digest": "sha256:" + "f" * 64},
        False,
    ),
    ("spec.verify lists no key", {"keys": [{}], "keyless": []}, True),
    ("spec.verify lists no key", {"keyless": [{}]}, True),
    ("spec.verify lists no key", {"keys": [], "keyless": []}, False),
    ("spec.verify lists no key", {}, False),
    ("trustedRootRef is only used", {"keyless": [{}], "trustedRootRef": {}}, True),
    ("trustedRootRef is only used", {"keys": [{}]}, True),
    ("trustedRootRef is only used", {"keyless": [], "trustedRootRef": {}}, False),
    ("trustedRootRef is only used", {"trustedRootRef": {}}, False),
    ("mutually exclusive", {"issuer": "https://i", "subject": "s"}, True),
    ("mutually exclusive", {"issuer": "https://i"}, True),
    ("mutually exclusive", {"issuer": "https://i", "subject": "s", "subjectRegExp": "s"}, False),
    ("set subject (exact match)", {"issuer": "https://i", "subjectRegExp": ".*"}, True),
    ("set subject (exact match)", {"issuer": "https://i"}, False),
    ("issuer must be the OIDC issuer URL", "https://accounts.google.com", True),
    ("issuer must be the OIDC issuer URL", "http://dex.local:5556", True),
    ("issuer must be the OIDC issuer URL", "accounts.google.com", False),
    ("issuer must be the OIDC issuer URL", "ftp://accounts.google.com", False),
    ("name must be a lowercase RFC 1123 name", "cosign-keys.v2", True),
    ("name must be a lowercase RFC 1123 name", "cosign_keys", False),
    ("name must be a lowercase RFC 1123 name", "-keys", False),
    ("namespace must be a lowercase RFC 1123 label", "wasmgate-system", True),
    ("namespace must be a lowercase RFC 1123 label", "wasmgate.system", False),
    (
        "key must be a Secret data key (letters, digits, '-', '_', '.'), e.g. cosign.pub",
        "cosign.pub",
        True,
    ),
    (
        "key must be a Secret data key (letters, digits, '-', '_', '.'), e.g. cosign.pub",
        "a/b",
        False,
    ),
    ("e.g. trusted_root.json", "trusted_root.json", True),
    ("e.g. trusted_root.json", "trusted root.json", False),
    ("spec.scheduler.schedulers[*] must be", "wasmgate-scheduler", True),
    ("spec.scheduler.schedulers[*] must be", "Wasmgate", False),
    ("spec.scheduler.guestConfig is larger", "x" * 65536, True),
    ("spec.scheduler.guestConfig is larger", "ü" * 32768, True),
    ("spec.scheduler.guestConfig is larger", "ü" * 32769, False),
    ("spec.schedulerName must be a lowercase", "wasmgate-scheduler", True),
    ("spec.schedulerName must be a lowercase", "wasmgate scheduler", False),
    ("spec.schedulerName must not be default-scheduler", "default-scheduler-2", True),
    ("spec.schedulerName must not be default-scheduler", "default-scheduler", False),
    ("spec.nodeSelector keys", {"a" * 317: ""}, True),
    ("spec.nodeSelector keys", {"a" * 318: ""}, False),
    ("spec.baseProfile.schedulerName", {"plugins": {}}, True),
    ("spec.baseProfile.schedulerName", {"schedulerName": "x"}, False),
    ("operator Exists matches any value", {"operator": "Exists"}, True),
    ("operator Exists matches any value", {"operator": "Exists", "value": ""}, True),
    ("operator Exists matches any value", {"operator": "Equal", "value": "x"}, True),
    ("operator Exists matches any value", {"operator": "Exists", "value": "x"}, False),
    ("without key must use operator Exists", {"operator": "Exists"}, True),
    ("without key must use operator Exists", {"operator": "Equal", "key": "k"}, True),
    ("without key must use operator Exists", {"operator": "Equal"}, False),
    ("spec.allowedRegistries[*] must be a repository glob", "ghcr.io/acme/*", True),
    ("spec.allowedRegistries[*] must be a repository glob", "registry.local:5000/**", True),
    ("spec.allowedRegistries[*] must be a repository glob", "ghcr.io/acme/", False),
    ("spec.allowedRegistries[*] must be a repository glob", "ghcr.io/{a,b}/*", False),
    ("set signatureRequired to true", {"signatureRequired": False}, True),
    ("set signatureRequired to true", {"signatureRequired": True, "keys": [{}]}, True),
    (
        "set signatureRequired to true",
        {"signatureRequired": False, "keys": [], "keyless": []},
        True,
    ),
    ("set signatureRequired to true", {"signatureRequired": False, "keyless": [{}]}, False),
    ("spec.nodeName must be a lowercase", "worker-1.zone-a", True),
    ("spec.nodeName must be a lowercase", "Worker-1", False),
    (
        "a WasmNodeCache is named after its node",
        {"metadata": {"name": "n1"}, "spec": {"nodeName": "n1"}},
        True,
    ),
    (
        "a WasmNodeCache is named after its node",
        {"metadata": {"name": "n1"}, "spec": {"nodeName": "n2"}},
        False,
    ),
]


def _rule_for(fragment: str) -> Rule:
    matching = [rule for rule in RULES if fragment in rule.message]
    assert len(matching) == 1, f"{fragment!r} matches {len(matching)} rules"
    return matching[0]


@pytest.mark.parametrize(
    ("kind", "rule"),
    crd_rules(),
    ids=[f"{kind}:{rule['message'][:40]}" for kind, rule in crd_rules()],
)
def test_every_crd_rule_compiles_and_comes_from_a_model(kind: str, rule: dict[str, str]) -> None:
    compile_rule(rule["rule"])
    assert any(r.rule == rule["rule"] and r.message == rule["message"] for r in RULES), kind
    assert set(rule) <= {"rule", "message", "fieldPath"}


@pytest.mark.parametrize(
    ("fragment", "value", "allowed"),
    CASES,
    ids=[
        f"{fragment[:30]}={allowed}#{index}" for index, (fragment, _, allowed) in enumerate(CASES)
    ],
)
def test_cel_and_python_agree(fragment: str, value: Any, allowed: bool) -> None:
    rule = _rule_for(fragment)
    assert holds(rule.rule, value) is allowed, f"CEL: {rule.rule}"
    assert rule.check(value) is allowed, "Python twin"


def test_every_rule_has_cases_on_both_sides() -> None:
    covered: dict[str, set[bool]] = {}
    for fragment, _, allowed in CASES:
        covered.setdefault(_rule_for(fragment).message, set()).add(allowed)
    missing = [rule.message for rule in RULES if covered.get(rule.message) != {True, False}]
    assert missing == []


_REFERENCE_CHARS = st.sampled_from([*"abcAB09:/@._-", "sha256:", "0" * 64, "__", "--"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_REFERENCE_CHARS, max_size=12).map("".join))
def test_image_rules_agree_on_arbitrary_references(reference: str) -> None:
    for fragment in ("spec.source.image must be", "spec.source.image has no tag"):
        rule = _rule_for(fragment)
        if fragment.endswith("tag") and not _rule_for("spec.source.image must be").check(reference):
            continue  # the tag rule is only meaningful for well-formed references
        assert holds(rule.rule, reference) is rule.check(reference), (fragment, reference)
