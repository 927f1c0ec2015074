"""Drop the parsed URLs yarl keeps, once a burst of plugins is deleted, so their pages can go back.

kopf talks to the apiserver through aiohttp, which parses each request's URL with yarl, and yarl
keeps the last 128 URLs it parsed in `functools.lru_cache`s. After a burst, those are URLs of the
burst's plugins: each a URL, its string, host, path, parts dictionary and cache entry, allocated
at different moments and so scattered over the heap the burst grew. Once the plugins are deleted
little else lives on those pages, yet the entries stay until 128 newer URLs push them out, which
a settled operator never parses. Walks of glibc's main heap 140 s after the deletions of 500
plugins found 2,034 resident pages holding less than 1 KB in use each, more than half of their
Python objects these entries; with the entries cleared, 1,182 such pages (docs/operations.md,
Sizing). The cache is cleared from the trim's timer thread: `lru_cache` is safe to clear while
the event loop uses it.

yarl's public `cache_clear()` clears only its host caches, so the URL caches are cleared by name
as well; tests/unit/runner/test_url_caches.py fails if yarl renames them.
"""

from __future__ import annotations

import yarl
import yarl._url

URL_CACHES = (
    "encode_url",
    "pre_encoded_url",
    "build_pre_encoded_url",
    "from_parts",
    "make_netloc",
    "split_netloc",
)
"""yarl's cached URL parsers and builders (yarl 1.25), in `yarl._url`."""


def forget_parsed_urls() -> int:
    """Clear yarl's caches of hosts and parsed URLs; how many of the URL caches were found."""
    yarl.cache_clear()
    found = 0
    for name in URL_CACHES:
        clear = getattr(getattr(yarl._url, name, None), "cache_clear", None)
        if callable(clear):
            clear()
            found += 1
    return found
