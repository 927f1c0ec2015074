"""A thread pool whose threads end when they have been idle a while, so a burst's threads go.

The standard library's ThreadPoolExecutor keeps every thread it ever started until shutdown.
After a burst of 500 plugins the operator held 15 more threads than before it, each with the
stack it had touched and, under glibc, a per-thread cache of freed chunks that pins heap pages.
A thread of this pool ends after `idle_seconds` without work; glibc then releases its stack and
flushes its cache, and the next trim (runner/memory_trim.py, runner/free_memory_watch.py)
returns the pages: RSS 120 s after the deletions of 500 plugins went from 145 to 140-141 MB.
The standard library has no idle timeout and no well-kept package adds one to a
`concurrent.futures.Executor`, so this is ours.
"""

from __future__ import annotations

import atexit
import collections
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

IDLE_SECONDS = 20.0
"""How long a thread waits for work before it ends: longer than the gaps inside a burst (a
pass waits on the apiserver for under a second), short enough to be gone well before the
follow-up trims after a burst of deletions end."""

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class _Work:
    future: Future[Any]
    call: Callable[[], Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.call()
        except BaseException as e:  # the caller sees it through the future, as with the stdlib
            self.future.set_exception(e)
        else:
            self.future.set_result(result)


class IdleExitingThreadPool(Executor):
    """At most `max_workers` threads, started on demand, each ending after `idle_seconds` idle.

    Work waits in one queue, guarded by one condition. A submission starts a thread when more
    work is queued than threads wait for it, and wakes one waiting thread. A thread ends only
    when, holding the condition, it finds the queue empty after its idle time: it cannot leave
    work behind. (A count of idle threads kept apart from the queue, as the standard library's
    pool keeps, drifts when a busy thread takes queued work; with threads that end, that drift
    left work queued with no thread to run it.)
    """

    def __init__(
        self,
        max_workers: int,
        *,
        thread_name_prefix: str,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._name = thread_name_prefix
        self._idle_seconds = idle_seconds
        self._changed = threading.Condition()
        self._queue: collections.deque[_Work] = collections.deque()
        self._waiting = 0
        self._threads: set[threading.Thread] = set()
        self._started = 0
        self._shut = False
        _pools.add(self)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._changed:
            if self._shut:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._queue.append(_Work(future, lambda: fn(*args, **kwargs)))
            if len(self._queue) > self._waiting and len(self._threads) < self.max_workers:
                self._start_thread()
            self._changed.notify()
        return future

    def _start_thread(self) -> None:
        self._started += 1
        thread = threading.Thread(
            target=self._serve, name=f"{self._name}_{self._started}", daemon=True
        )
        self._threads.add(thread)
        thread.start()

    def threads(self) -> int:
        """How many threads are alive now."""
        with self._changed:
            return len(self._threads)

    def _serve(self) -> None:
        while True:
            work = self._next()
            if work is None:
                return
            work.run()
            del work

    def _next(self) -> _Work | None:
        """The next work to run; None when this thread ends (idle too long, or shut down)."""
        with self._changed:
            idle_until = time.monotonic() + self._idle_seconds
            while not self._queue:
                left = idle_until - time.monotonic()
                if self._shut or left <= 0:
                    self._threads.discard(threading.current_thread())
                    return None
                self._waiting += 1
                try:
                    self._changed.wait(left)
                finally:
                    self._waiting -= 1
            return self._queue.popleft()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._changed:
            self._shut = True
            threads = list(self._threads)
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
            self._changed.notify_all()
        if wait:
            for thread in threads:
                thread.join()


_pools: weakref.WeakSet[IdleExitingThreadPool] = weakref.WeakSet()


@atexit.register
def _finish_work_at_exit() -> None:
    """Threads are daemons, so an idle one never holds up exit; work already running or queued
    still finishes, as with the standard library's pool (atexit runs before daemons are
    stopped)."""
    for pool in list(_pools):
        pool.shutdown(wait=True)
