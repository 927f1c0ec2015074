"""yarl's parsed URLs are dropped after deletions; the test fails if yarl moves its caches."""

from __future__ import annotations

import yarl
import yarl._url

from wasmgate.runner import memory_trim
from wasmgate.runner.url_caches import URL_CACHES, forget_parsed_urls


def _kept_urls() -> int:
    return int(yarl._url.encode_url.cache_info().currsize)


def test_every_named_url_cache_exists_in_this_yarl() -> None:
    assert forget_parsed_urls() == len(URL_CACHES)


def test_a_parsed_url_is_kept_until_forgotten() -> None:
    yarl.URL("http://127.0.0.1:6443/apis/wasmgate.dev/v1alpha1/wasmplugins/url-cache-test")
    assert _kept_urls() >= 1
    forget_parsed_urls()
    assert _kept_urls() == 0


def test_the_release_after_deletions_forgets_parsed_urls() -> None:
    yarl.URL("http://127.0.0.1:6443/apis/wasmgate.dev/v1alpha1/wasmplugins/trim-test")
    assert _kept_urls() >= 1
    release = memory_trim.malloc_trim()
    assert release is not None
    release()
    assert _kept_urls() == 0
