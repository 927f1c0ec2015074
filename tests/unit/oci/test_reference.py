"""Reference parsing follows docker, and refuses references that do not pin bytes."""

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import Reference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox:1", Reference("docker.io", "library/busybox", "1")),
        ("org/plugin:v1", Reference("docker.io", "org/plugin", "v1")),
        ("index.docker.io/org/plugin:v1", Reference("docker.io", "org/plugin", "v1")),
        ("ghcr.io/org/team/plugin:v1.2", Reference("ghcr.io", "org/team/plugin", "v1.2")),
        ("localhost/plugin:v1", Reference("localhost", "plugin", "v1")),
        ("127.0.0.1:5000/p/q:t", Reference("127.0.0.1:5000", "p/q", "t")),
        (f"127.0.0.1:5000/p@{DIGEST}", Reference("127.0.0.1:5000", "p", None, DIGEST)),
        (f"reg.io/p:v1@{DIGEST}", Reference("reg.io", "p", "v1", DIGEST)),
        ("REG.IO:443/p:v1", Reference("reg.io:443", "p", "v1")),
    ],
    ids=[
        "hub-official",
        "hub-org",
        "hub-alias",
        "nested",
        "localhost",
        "port",
        "digest",
        "tag-and-digest",
        "host-case",
    ],
)
def test_parse_reference(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reg.io/plugin", 'has no tag or digest; add ":v1" or "@sha256:..."'),
        ("reg.io/Plugin:v1", "invalid repository"),
        ("reg.io/p:v1@sha256:abc", "is not a digest"),
        ("reg.io/p@md5:" + "a" * 32, "is not a digest"),
        ("reg.io/p:-bad", 'invalid tag "-bad"'),
        ("", "is empty"),
        (" reg.io/p:v1", "surrounding whitespace"),
    ],
    ids=[
        "no-tag",
        "uppercase-repo",
        "short-digest",
        "other-algorithm",
        "bad-tag",
        "empty",
        "whitespace",
    ],
)
def test_parse_reference_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        parse_reference(text)
    assert error.value.reason == "InvalidSpec"
    assert message in error.value.message
    assert error.value.message.startswith("spec.source.image:")


def test_reference_round_trips_and_pins() -> None:
    ref = parse_reference("reg.io/p:v1")
    pinned = ref.pinned(DIGEST)
    assert str(pinned) == f"reg.io/p:v1@{DIGEST}"
    assert pinned.target == DIGEST
    assert ref.target == "v1"
    assert pinned.name == "reg.io/p"
