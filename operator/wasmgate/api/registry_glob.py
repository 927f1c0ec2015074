"""What a WasmTrustPolicy.spec.allowedRegistries glob matches: one answer for the whole system.

The glob is part of the API (the field's description promises its meaning), and two places judge
it: admission (a `kubectl apply` refused early) and the operator's trust stage (the enforcement
that cannot be skipped). Both call `glob_matches`, so they can never disagree.

`*` and `?` stay within one `/`-separated segment and `**` crosses segments, so `ghcr.io/acme/*`
admits `ghcr.io/acme/x` but not `ghcr.io/acme/x/y`; `fnmatch` would let `*` cross `/` and admit
a whole registry where the admin meant one directory. The registry host is one segment: `*` in it
may span dots (`*.example.com/**` admits `a.b.example.com/x`, every host under example.com), but
never reaches into the path. A glob matches the whole `registry/repository`, never a prefix.
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
    """Whether `registry/repository` is matched by the glob (case-insensitive: registry hosts
    are, and OCI repository names are lowercase anyway)."""
    return compile_glob(pattern.lower()).fullmatch(name.lower()) is not None
