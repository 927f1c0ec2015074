"""Freed memory goes back to the system once per burst of deletions."""

from __future__ import annotations

import threading
import time

from wasmgate.rollout import config
from wasmgate.runner import memory_trim
from wasmgate.runner.memory_trim import MemoryTrim


class Releases:
    """A release function that records when it was called."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.done = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self.done.set()


def test_a_burst_of_deletions_trims_once_after_it_settles() -> None:
    releases = Releases()
    trim = MemoryTrim(releases, settle=0.2, follow_ups=0)
    started = time.monotonic()
    for _ in range(50):
        trim.deleted()
    assert releases.done.wait(10.0)
    time.sleep(0.4)
    assert len(releases.times) == 1
    assert releases.times[0] - started >= 0.2


def test_deletions_that_keep_coming_delay_the_trim_with_one_timer_thread() -> None:
    releases = Releases()
    trim = MemoryTrim(releases, settle=0.2, follow_ups=0)
    threads_before = threading.active_count()
    last = time.monotonic()
    for _ in range(8):  # 0.4 s of deletions, each sooner than the settle time
        trim.deleted()
        last = time.monotonic()
        assert threading.active_count() <= threads_before + 1
        time.sleep(0.05)
    assert releases.done.wait(10.0)
    assert len(releases.times) == 1
    assert releases.times[0] - last >= 0.2


def test_after_a_burst_the_trim_follows_up_and_then_stops() -> None:
    releases = Releases()
    trim = MemoryTrim(releases, settle=0.05, follow_up=0.1, follow_ups=2)
    for _ in range(5):
        trim.deleted()
    deadline = time.monotonic() + 10.0
    while len(releases.times) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert len(releases.times) == 3, releases.times
    assert releases.times[2] - releases.times[1] >= 0.1
    assert releases.times[1] - releases.times[0] >= 0.1


def test_glibc_offers_malloc_trim_and_it_can_be_called() -> None:
    release = memory_trim.malloc_trim()
    assert release is not None
    release()


def test_without_malloc_trim_deletions_do_nothing() -> None:
    trim = MemoryTrim(None, settle=0.0)
    trim.deleted()
    assert trim._timer is None


def test_the_release_after_deletions_drops_the_kept_renderings() -> None:
    rendered = config._render  # the cache itself: what the release must empty
    config.render_config({"profiles": [{"schedulerName": "trim-test"}]})
    assert rendered.cache_info().currsize >= 1
    release = memory_trim.malloc_trim()
    assert release is not None
    release()
    assert rendered.cache_info().currsize == 0
