from __future__ import annotations

import pytest

from wasmgate.api.registry_glob import glob_matches
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import InvalidSpec, PolicyViolation
from wasmgate.oci.reference import parse_reference
from wasmgate.trust.policy import Evidence, RegistryAllowList
from wasmgate_admission.trust_policy import violations

# (id, pattern, registry/repository, matches); every row is judged alike by admission and by the
# operator's trust stage (test below).
TABLE = [
    ("star_one_segment", "ghcr.io/acme/*", "ghcr.io/acme/plugin", True),
    ("star_not_across_slash", "ghcr.io/acme/*", "ghcr.io/acme/team/plugin", False),
    ("double_star_across_slash", "ghcr.io/acme/**", "ghcr.io/acme/team/plugin", True),
    ("prefix_is_not_enough", "ghcr.io/acme/*", "ghcr.io/acmeevil/plugin", False),
    ("question_mark_one_char", "ghcr.io/acme/plugin-?", "ghcr.io/acme/plugin-a", True),
    ("question_mark_not_slash", "ghcr.io/acme/plugin-?", "ghcr.io/acme/plugin-/", False),
    ("port_in_host", "registry.example.com:5000/**", "registry.example.com:5000/a/b", True),
    ("port_must_match", "registry.example.com/**", "registry.example.com:5000/a", False),
    ("host_case_insensitive", "GHCR.io/acme/*", "ghcr.io/acme/plugin", True),
    ("dot_is_literal", "ghcr.io/acme.x/*", "ghcr.io/acmeXx/plugin", False),
    ("star_host", "*/acme/*", "ghcr.io/acme/plugin", True),
    ("host_glob_without_path_matches_no_repo", "*.example.com", "a.b.example.com/x", False),
    ("host_star_spans_dots_documented", "*.example.com/**", "a.b.example.com/x", True),
    ("host_star_one_label", "*.example.com/**", "a.example.com/x", True),
    ("host_star_needs_a_subdomain", "*.example.com/**", "example.com/x", False),
    ("host_suffix_in_path_is_not_host", "*.example.com/**", "evil.io/a.example.com/x", False),
    ("host_star_stops_at_port", "*.example.com/**", "a.example.com:5000/x", False),
    ("bare_star_is_one_segment", "*", "ghcr.io/acme", False),
    ("double_star_everything", "**", "ghcr.io/acme/x", True),
]


def _is_reference(name: str) -> bool:
    try:
        return parse_reference(f"{name}:v1").name == name
    except InvalidSpec:
        return False


# Names a WasmPlugin can carry (some rows above probe the glob with names no image can have).
REFERENCES = [row for row in TABLE if _is_reference(row[2])]


@pytest.mark.parametrize(
    ("pattern", "name", "matches"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_glob(pattern: str, name: str, matches: bool) -> None:
    assert glob_matches(pattern, name) is matches


def test_most_rows_are_image_names() -> None:
    assert len(REFERENCES) >= 15


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [row[1:] for row in REFERENCES],
    ids=[row[0] for row in REFERENCES],
)
def test_admission_and_operator_agree(pattern: str, name: str, matches: bool) -> None:
    reference = parse_reference(f"{name}:v1")
    spec = WasmPluginSpec.model_validate({"source": {"image": f"{name}:v1"}})
    policy = {"metadata": {"name": "p"}, "spec": {"allowedRegistries": [pattern]}}
    admission = [v for v in violations(policy, spec, reference) if "registries" in v]
    operator = RegistryAllowList([pattern], "WasmTrustPolicy p spec.allowedRegistries")
    if matches:
        assert admission == []
        operator.verify(Evidence(name, "sha256:" + "a" * 64, []))
        return
    assert len(admission) == 1
    assert admission[0].startswith(f"spec.source.image: {name} is not in the registries")
    with pytest.raises(PolicyViolation) as refused:
        operator.verify(Evidence(name, "sha256:" + "a" * 64, []))
    assert refused.value.reason == "PolicyViolation"
    assert refused.value.message.startswith(f"{name} is not in WasmTrustPolicy p")
