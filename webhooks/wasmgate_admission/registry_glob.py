"""Repository globs of WasmTrustPolicy.spec.allowedRegistries, with the documented meaning.

`*` stays within one path segment and `**` crosses segments, so `ghcr.io/acme/*` admits
`ghcr.io/acme/x` but not `ghcr.io/acme/x/y`; `fnmatch` would let `*` cross `/` and admit a whole
registry where the admin meant one directory.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The anchored regular expression of a repository glob."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts))


def glob_matches(pattern: str, name: str) -> bool:
    """Whether `registry/repository` is matched by the glob (case-insensitive registry host)."""
    return compile_glob(pattern.lower()).fullmatch(name.lower()) is not None
