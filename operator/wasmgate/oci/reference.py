"""Parse image references the way docker and containerd do, so users write what they already know.

A plugin reference must say which bytes it means: a tag (resolved once and pinned) or a digest.
We never invent an implicit `:latest`, because a moving default tag is the opposite of pinning.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from wasmgate.errors import InvalidSpec

DOCKER_HUB = "docker.io"
# Docker Hub's API is not served on the name users write; these spellings all mean Docker Hub.
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed reference: where the artifact lives and which version of it."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Registry and repository, the identity a signature's docker-reference must name."""
        return f"{self.registry}/{self.repository}"

    @property
    def target(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or ""

    def pinned(self, digest: str) -> Reference:
        """The same repository at exactly this manifest digest."""
        return replace(self, digest=check_digest(digest))

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def sha256_digest(data: bytes) -> str:
    """The OCI digest string of these bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str, field: str = "digest") -> str:
    """Return the digest if it is a sha256 OCI digest, else raise naming the field."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidSpec(
            f'{field}: "{digest}" is not a digest; write "sha256:" followed by 64 lowercase hex '
            "characters (other algorithms are not accepted)"
        )
    return digest


def normalize_registry(host: str) -> str:
    """Lower-case a registry host and fold Docker Hub's aliases into `docker.io`."""
    host = host.lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _looks_like_registry(component: str) -> bool:
    # Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
    return "." in component or ":" in component or component == "localhost"


def is_registry_host(text: str) -> bool:
    """Whether `text` is a `host[:port]` docker would read as a registry, not a repository."""
    return bool(_HOST.match(text)) and _looks_like_registry(text)


def is_repository_path(text: str) -> bool:
    """Whether `text` is a valid repository path (lowercase components between slashes)."""
    return bool(_REPOSITORY.match(text))


def parse_reference(text: str, field: str = "spec.source.image") -> Reference:
    """Parse `[registry/]repository[:tag][@sha256:...]`; Docker Hub names get `library/`."""
    original = text
    if not isinstance(text, str) or not text or text != text.strip():
        raise InvalidSpec(f'{field}: "{original}" is empty or has surrounding whitespace')
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        check_digest(digest, field)
    tag = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidSpec(f'{field}: "{original}" has an invalid tag "{tag}"')
    first, _, rest = text.partition("/")
    if rest and _looks_like_registry(first):
        if not _HOST.match(first):
            raise InvalidSpec(f'{field}: "{original}" has an invalid registry host "{first}"')
        registry, repository = normalize_registry(first), rest
    else:
        registry, repository = DOCKER_HUB, text
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY.match(repository):
        raise InvalidSpec(
            f'{field}: "{original}" has an invalid repository "{repository}"; use lowercase '
            "letters, digits and . _ - separators"
        )
    if tag is None and digest is None:
        raise InvalidSpec(
            f'{field}: "{original}" has no tag or digest; add ":v1" or "@sha256:..." so the '
            "bytes it names are explicit"
        )
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest)
