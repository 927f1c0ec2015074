from __future__ import annotations

import pytest

from wasmgate_admission.registry_glob import glob_matches


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/plugin", True),
        ("ghcr.io/acme/*", "ghcr.io/acme/team/plugin", False),
        ("ghcr.io/acme/**", "ghcr.io/acme/team/plugin", True),
        ("ghcr.io/acme/*", "ghcr.io/acmeevil/plugin", False),
        ("ghcr.io/acme/plugin-?", "ghcr.io/acme/plugin-a", True),
        ("ghcr.io/acme/plugin-?", "ghcr.io/acme/plugin-/", False),
        ("registry.example.com:5000/**", "registry.example.com:5000/a/b", True),
        ("registry.example.com/**", "registry.example.com:5000/a", False),
        ("GHCR.io/acme/*", "ghcr.io/acme/plugin", True),
        ("ghcr.io/acme.x/*", "ghcr.io/acmeXx/plugin", False),
        ("*/acme/*", "ghcr.io/acme/plugin", True),
    ],
    ids=[
        "star_one_segment",
        "star_not_across_slash",
        "double_star_across_slash",
        "prefix_is_not_enough",
        "question_mark_one_char",
        "question_mark_not_slash",
        "port_in_host",
        "port_must_match",
        "host_case_insensitive",
        "dot_is_literal",
        "star_host",
    ],
)
def test_glob(pattern: str, name: str, matches: bool) -> None:
    assert glob_matches(pattern, name) is matches
