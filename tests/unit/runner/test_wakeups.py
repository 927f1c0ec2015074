"""Scheduler wake-ups: a plugin event wakes the schedulers it names, now or before, only."""

from __future__ import annotations

import asyncio

from wasmgate.runner.wakeups import Wakeups


def _woken(wakeups: Wakeups, before: dict[str, tuple[int, int]]) -> set[str]:
    return {name for name, token in before.items() if wakeups.token(name) != token}


def _tokens(wakeups: Wakeups) -> dict[str, tuple[int, int]]:
    return {name: wakeups.token(name) for name in ("a", "b", "c")}


def test_a_plugin_event_wakes_only_the_schedulers_it_names() -> None:
    wakeups = Wakeups()
    before = _tokens(wakeups)
    wakeups.notify_plugin("p", ["a"], deleted=False)
    assert _woken(wakeups, before) == {"a"}


def test_a_plugin_that_moves_wakes_the_scheduler_it_left() -> None:
    wakeups = Wakeups()
    wakeups.notify_plugin("p", ["a"], deleted=False)
    before = _tokens(wakeups)
    wakeups.notify_plugin("p", ["b"], deleted=False)
    assert _woken(wakeups, before) == {"a", "b"}
    before = _tokens(wakeups)
    wakeups.notify_plugin("p", ["b"], deleted=True)
    assert _woken(wakeups, before) == {"b"}
    before = _tokens(wakeups)
    wakeups.notify_plugin("p", ["c"], deleted=False)
    assert _woken(wakeups, before) == {"c"}


def test_notify_wakes_everyone_and_a_wait_returns_at_once_after_a_missed_event() -> None:
    wakeups = Wakeups()
    wakeups.SETTLE_SECONDS = 0
    before = _tokens(wakeups)
    seen = wakeups.token("c")
    wakeups.notify()
    assert _woken(wakeups, before) == {"a", "b", "c"}
    # The event came before the wait: a day-long wait returns at once.
    asyncio.run(asyncio.wait_for(wakeups.wait(seen, "c", 86400, lambda: False), timeout=10))


def test_a_wait_ends_when_stopped_and_when_its_time_is_up() -> None:
    wakeups = Wakeups()
    seen = wakeups.token("c")
    asyncio.run(asyncio.wait_for(wakeups.wait(seen, "c", 86400, lambda: True), timeout=10))
    asyncio.run(asyncio.wait_for(wakeups.wait(seen, "c", 0.01, lambda: False), timeout=10))


def test_a_plugin_event_for_another_scheduler_does_not_end_a_wait() -> None:
    wakeups = Wakeups()
    wakeups.SETTLE_SECONDS = 0
    seen = wakeups.token("c")

    async def wait_while_others_are_woken() -> bool:
        waiting = asyncio.ensure_future(wakeups.wait(seen, "c", 86400, lambda: False))
        wakeups.notify_plugin("p", ["a"], deleted=False)
        await asyncio.sleep(0.2)
        still_waiting = not waiting.done()
        wakeups.notify_plugin("q", ["c"], deleted=False)
        await asyncio.wait_for(waiting, timeout=10)
        return still_waiting

    assert asyncio.run(wait_while_others_are_woken())


def test_a_wait_notices_a_stop_that_comes_while_it_waits() -> None:
    wakeups = Wakeups()
    wakeups.STOP_CHECK_SECONDS = 0.01
    seen = wakeups.token("c")
    stop = asyncio.Event()

    async def stop_soon() -> None:
        waiting = asyncio.ensure_future(wakeups.wait(seen, "c", 86400, stop.is_set))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        stop.set()
        await asyncio.wait_for(waiting, timeout=10)

    asyncio.run(stop_soon())


def test_forget_drops_the_counter_and_the_waiting_event() -> None:
    wakeups = Wakeups()
    wakeups.notify_plugin("p", ["c"], deleted=False)
    asyncio.run(wakeups.wait(wakeups.token("c"), "c", 0.01, lambda: False))
    assert len(wakeups) == 1
    wakeups.forget("c")
    assert wakeups.token("c") == (0, 0)
    assert len(wakeups) == 0
