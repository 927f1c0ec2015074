"""`wasmgate load --to`: a registry with an optional prefix, and where each repository lands."""

from __future__ import annotations

import pytest

from wasmgate.airgap.load import Target, parse_target
from wasmgate.errors import InvalidSpec


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("registry.corp.example", Target("registry.corp.example", "")),
        ("127.0.0.1:5000/mirror/team", Target("127.0.0.1:5000", "mirror/team")),
        ("localhost/x/", Target("localhost", "x")),
        ("Index.Docker.IO/acme", Target("docker.io", "acme")),
    ],
    ids=["host", "host-port-prefix", "localhost-trailing-slash", "docker-hub-alias"],
)
def test_targets_parse(text: str, target: Target) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize(
    "text", ["nohost", "", "h.example/UPPER", "h.example/a//b", "h.example:99999999/x"]
)
def test_bad_targets_name_the_flag_and_the_fix(text: str) -> None:
    with pytest.raises(InvalidSpec) as raised:
        parse_target(text)

    assert raised.value.message.startswith(f'--to: "{text}" is not a registry; write host[:port]')


def test_repositories_keep_their_path_under_the_prefix() -> None:
    assert Target("r.example", "mirror").repository("ghcr.io/acme/filter") == "mirror/acme/filter"
    assert Target("r.example").repository("ghcr.io/acme/filter") == "acme/filter"
