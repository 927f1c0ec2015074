"""Registry mirror mappings: parsing with errors that name the flag, and which mirror wins."""

from __future__ import annotations

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.oci.mirror import mirrored, parse_mirror, parse_mirrors
from wasmgate.oci.reference import parse_reference
from wasmgate.oci.settings import RegistrySettings

DIGEST = "sha256:" + "ab" * 32
MIRRORS = parse_mirrors(
    [
        "registry.example.com/team=mirror.local:5000/team",
        "registry.example.com/team/special=mirror.local:5000/special",
        "registry.example.com=mirror.local:5000/all",
        "docker.io=hub-cache.local",
        "ghcr.io/org/plugin=cache.local/plugin",
    ]
)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("registry.example.com/team/filter:v1", "mirror.local:5000/team/filter:v1"),
        ("registry.example.com/team:v1", "mirror.local:5000/team:v1"),
        ("registry.example.com/team/special/x:v2", "mirror.local:5000/special/x:v2"),
        ("registry.example.com/teamx/filter:v1", "mirror.local:5000/all/teamx/filter:v1"),
        ("registry.example.com/other/a/b:v1", "mirror.local:5000/all/other/a/b:v1"),
        (f"registry.example.com/team/f@{DIGEST}", f"mirror.local:5000/team/f@{DIGEST}"),
        ("index.docker.io/library/busybox:1", "hub-cache.local/library/busybox:1"),
        ("busybox:1", "hub-cache.local/library/busybox:1"),
        ("ghcr.io/org/plugin:v1", "cache.local/plugin:v1"),
        ("ghcr.io/org/plugin-two:v1", None),
        ("ghcr.io/org:v1", None),
        ("registry.example.com.evil/team/f:v1", None),
        ("other.example:5000/team/f:v1", None),
    ],
    ids=[
        "under-prefix",
        "prefix-itself",
        "longest-prefix-wins",
        "segment-boundary-not-string-prefix",
        "host-only-prefix",
        "digest-kept",
        "docker-hub-alias",
        "docker-hub-short-name",
        "whole-repository",
        "repository-with-longer-name",
        "parent-of-prefix",
        "host-with-longer-name",
        "unmapped-registry",
    ],
)
def test_longest_prefix_on_segment_boundaries(reference: str, expected: str | None) -> None:
    result = mirrored(parse_reference(reference), MIRRORS)
    assert (str(result) if result else None) == expected


def test_settings_apply_the_mirrors() -> None:
    settings = RegistrySettings(mirrors=MIRRORS)
    ref = parse_reference("registry.example.com/team/filter:v1")

    mirror = settings.mirror_of(ref)

    assert mirror is not None
    assert (mirror.registry, mirror.repository, mirror.tag) == (
        "mirror.local:5000",
        "team/filter",
        "v1",
    )
    assert RegistrySettings().mirror_of(ref) is None


def test_a_prefix_mapped_to_a_bare_host_needs_a_path_for_itself() -> None:
    mirrors = parse_mirrors(["registry.example.com/team/filter=mirror.local"])

    with pytest.raises(InvalidSpec) as error:
        mirrored(parse_reference("registry.example.com/team/filter:v1"), mirrors)

    assert "maps to no repository on mirror.local" in error.value.message
    assert "registry.example.com/team/filter=mirror.local/team/filter" in error.value.message


def test_parse_normalizes_hosts_and_trailing_slashes() -> None:
    mirror = parse_mirror("Index.Docker.IO/library/=Mirror.Local:5000/hub/")
    assert str(mirror) == "docker.io/library=mirror.local:5000/hub"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("r.example/team", '"r.example/team" is not PREFIX=MIRROR; write e.g.'),
        ("a.example=b.example=c.example", "is not PREFIX=MIRROR"),
        (" a.example=b.example", "is not PREFIX=MIRROR"),
        ("=m.local", "has an empty prefix; write PREFIX=MIRROR"),
        ("r.example=", "has an empty mirror; write PREFIX=MIRROR"),
        ("https://r.example=m.local", 'the prefix "https://r.example" has a scheme; drop it'),
        ("r.example=http://m.local", 'the mirror "http://m.local" has a scheme; drop it'),
        ("r.example/team:v1=m.local/team", 'the prefix "r.example/team:v1" has a tag'),
        (f"r.example/team=m.local/team@{DIGEST}", "has a digest; a mirror maps repositories"),
        ("team/x=m.local/team", 'the prefix "team/x" does not start with a registry host'),
        ("r.example=mirror", 'the mirror "mirror" does not start with a registry host'),
        ("r.example/Team=m.local", 'the prefix path "Team" is not a repository path'),
        ("r.example/a//b=m.local", 'the prefix path "a//b" is not a repository path'),
        ("m.local/team=m.local/team/", "maps a prefix onto itself; drop it"),
    ],
    ids=[
        "no-equals",
        "two-equals",
        "whitespace",
        "empty-prefix",
        "empty-mirror",
        "scheme-on-prefix",
        "scheme-on-mirror",
        "tag",
        "digest",
        "no-host",
        "bare-word-mirror",
        "uppercase-path",
        "empty-path-segment",
        "onto-itself",
    ],
)  # fmt: skip
def test_bad_mappings_name_the_flag_and_the_fix(value: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        parse_mirror(value)

    assert error.value.message.startswith("--registry-mirror: ")
    assert message in error.value.message


def test_a_prefix_mapped_twice_is_refused_naming_both() -> None:
    with pytest.raises(InvalidSpec) as error:
        parse_mirrors(
            ["r.example/team=a.example/team", "R.example/team/=b.example/team"],
            "WASMGATE_REGISTRY_MIRRORS",
        )

    assert error.value.message == (
        "WASMGATE_REGISTRY_MIRRORS: the prefix r.example/team is mapped twice "
        "(r.example/team=a.example/team and r.example/team=b.example/team); keep one"
    )
