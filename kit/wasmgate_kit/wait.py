"""One way to wait: poll until a probe says yes, with a deadline and the last thing it saw.

Every wait in the kit and in the tests goes through `wait_for`, so a timeout always says what it
was waiting for and what the world looked like when it gave up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """Raised when a wait's deadline passes; the message holds the last observation."""


def wait_for(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.2,
    alive: Callable[[], None] | None = None,
) -> T:
    """Call `probe` until it returns something other than None/False; return that value.

    `probe` may raise: the exception is remembered as the last observation and polling goes on.
    `alive` is called every round and may raise to abort early (a component died).
    """
    deadline = time.monotonic() + timeout
    last: object = "nothing observed yet"
    while True:
        if alive is not None:
            alive()
        try:
            value = probe()
            if value is not None and value is not False:
                return value
            last = value
        except Exception as e:  # the probe's failure is the observation we report
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {what}; last saw: {last}"
            )
        time.sleep(interval)
