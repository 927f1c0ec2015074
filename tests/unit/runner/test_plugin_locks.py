"""Plugin locks serialize one plugin's passes and are dropped when no one holds or waits."""

from __future__ import annotations

import threading
import time

from wasmgate.runner.runtime import PluginLocks


def test_the_table_is_empty_once_a_lock_is_released() -> None:
    locks = PluginLocks()
    with locks.hold("a"), locks.hold("b"):
        assert len(locks) == 2
    assert len(locks) == 0


def test_a_second_holder_waits_for_the_first_and_the_lock_outlives_neither() -> None:
    locks = PluginLocks()
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait()
        with locks.hold("a"):
            order.append("second")

    waiter = threading.Thread(target=second)
    waiter.start()
    with locks.hold("a"):
        first_in.set()
        # The waiter is blocked on this very lock: it counts as a user of it.
        while not _waiting(locks, "a"):
            time.sleep(0.001)
        order.append("first")
    waiter.join(timeout=10)
    assert order == ["first", "second"]
    assert len(locks) == 0


def test_different_plugins_do_not_wait_for_each_other() -> None:
    locks = PluginLocks()
    with locks.hold("a"):
        done = threading.Event()

        def other() -> None:
            with locks.hold("b"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(timeout=10)


def _waiting(locks: PluginLocks, name: str) -> bool:
    return locks._locks[name][1] == 2  # holders and waiters
