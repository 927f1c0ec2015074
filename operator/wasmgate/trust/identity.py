"""Compare repository names the way docker does, so `docker.io/x` and `x` are the same identity.

Kept inside trust (not imported from `oci`) because stages do not import each other; this is
the small part of reference parsing that identity checks need.
"""

from __future__ import annotations

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def repository_name(text: str) -> str:
    """`registry/repository` of a reference, with tag and digest dropped and Hub defaults."""
    name = text.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name = name[:colon]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry = DOCKER_HUB if first.lower() in _HUB_ALIASES else first.lower()
        repository = rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return f"{registry}/{repository}"
