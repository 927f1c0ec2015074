"""Registry mirrors: read `registry.example.com/team/...` from `mirror.local/team/...` instead.

Air-gapped and bandwidth-conscious clusters copy artifacts (and their signatures) to a registry
of their own, as containerd's hosts.toml mirrors do for images. The mirror is only where bytes
are read: the reference the user wrote stays the identity that signatures, keyless identities
and WasmTrustPolicies are judged against, so a mirror can serve a copy but never vouch for it.

A mapping is `PREFIX=MIRROR`, each `host[:port][/path]`. The prefix matches a reference's
`registry/repository` on path-segment boundaries (`r.example/team` matches `r.example/team/x`
and `r.example/team`, never `r.example/teamx`); the longest matching prefix wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import (
    Reference,
    is_registry_host,
    is_repository_path,
    normalize_registry,
)

EXAMPLE = "registry.example.com/team=mirror.local:5000/team"


@dataclass(frozen=True)
class Location:
    """A registry host and an optional repository path under it: one side of a mapping."""

    registry: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}" if self.path else self.registry

    def matches(self, name: str) -> bool:
        """Whether `registry/repository` lies under this location, on a segment boundary."""
        prefix = str(self)
        return name == prefix or name.startswith(prefix + "/")


@dataclass(frozen=True)
class RegistryMirror:
    """One mapping: references under `prefix` are read from the same path under `mirror`."""

    prefix: Location
    mirror: Location

    def __str__(self) -> str:
        return f"{self.prefix}={self.mirror}"

    def apply(self, reference: Reference) -> Reference:
        """The reference's repository moved under the mirror, same tag and digest."""
        rest = reference.name[len(str(self.prefix)) :].lstrip("/")
        repository = "/".join(p for p in (self.mirror.path, rest) if p)
        if not repository:
            raise InvalidSpec(
                f"registry mirror {self}: {reference.name} maps to no repository on "
                f"{self.mirror.registry}; give the mirror side a path, e.g. "
                f"{self.prefix}={self.mirror.registry}/{reference.repository}"
            )
        return Reference(self.mirror.registry, repository, reference.tag, reference.digest)


def _location(text: str, side: str, value: str, source: str) -> Location:
    fix = f"write PREFIX=MIRROR, each host[:port][/path], e.g. {EXAMPLE}"
    if not text:
        raise InvalidSpec(f'{source}: "{value}" has an empty {side}; {fix}')
    if "://" in text:
        raise InvalidSpec(
            f'{source}: "{value}": the {side} "{text}" has a scheme; drop it ({fix}); plain HTTP '
            "is chosen per host with the plain-HTTP registry list"
        )
    if "@" in text:
        raise InvalidSpec(
            f'{source}: "{value}": the {side} "{text}" has a digest; a mirror maps repositories, '
            f"not versions ({fix})"
        )
    host, _, path = text.partition("/")
    if ":" in path:
        raise InvalidSpec(
            f'{source}: "{value}": the {side} "{text}" has a tag; a mirror maps repositories, '
            f"not versions ({fix})"
        )
    if not is_registry_host(host):
        raise InvalidSpec(
            f'{source}: "{value}": the {side} "{text}" does not start with a registry host '
            f"(a name with a dot or a port, or localhost); {fix}"
        )
    path = path.rstrip("/")
    if path and not is_repository_path(path):
        raise InvalidSpec(
            f'{source}: "{value}": the {side} path "{path}" is not a repository path; use '
            "lowercase letters, digits and . _ - separators between slashes"
        )
    return Location(normalize_registry(host), path)


def parse_mirror(value: str, source: str = "--registry-mirror") -> RegistryMirror:
    """Parse `PREFIX=MIRROR`; InvalidSpec naming `source` (the flag or variable) and the fix."""
    if not isinstance(value, str) or value != value.strip() or value.count("=") != 1:
        raise InvalidSpec(
            f'{source}: "{value}" is not PREFIX=MIRROR; write e.g. {source}={EXAMPLE}'
        )
    prefix_text, mirror_text = value.split("=")
    prefix = _location(prefix_text, "prefix", value, source)
    mirror = _location(mirror_text, "mirror", value, source)
    if prefix == mirror:
        raise InvalidSpec(f'{source}: "{value}" maps a prefix onto itself; drop it')
    return RegistryMirror(prefix, mirror)


def parse_mirrors(
    values: Iterable[str], source: str = "--registry-mirror"
) -> tuple[RegistryMirror, ...]:
    """Every mapping, each prefix at most once (a second target for it would be ambiguous)."""
    mirrors = tuple(parse_mirror(v, source) for v in values)
    seen: dict[Location, RegistryMirror] = {}
    for mirror in mirrors:
        earlier = seen.setdefault(mirror.prefix, mirror)
        if earlier is not mirror:
            raise InvalidSpec(
                f"{source}: the prefix {mirror.prefix} is mapped twice ({earlier} and {mirror}); "
                "keep one"
            )
    return mirrors


def mirror_for(reference: Reference, mirrors: Sequence[RegistryMirror]) -> RegistryMirror | None:
    """The mapping whose prefix is the longest one the reference lies under, if any."""
    matching = [m for m in mirrors if m.prefix.matches(reference.name)]
    return max(matching, key=lambda m: len(str(m.prefix)), default=None)


def mirrored(reference: Reference, mirrors: Sequence[RegistryMirror]) -> Reference | None:
    """Where to read the reference from, or None when no mapping covers it."""
    mirror = mirror_for(reference, mirrors)
    return None if mirror is None else mirror.apply(reference)
