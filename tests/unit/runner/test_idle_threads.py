"""The plugin and scheduler passes' pool: threads start on demand, end when idle, lose no work."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, Future

import pytest

from wasmgate.runner.idle_threads import IdleExitingThreadPool

WAIT = 10.0


def _until(condition: object, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.01)
    return False


def test_results_and_exceptions_reach_the_caller() -> None:
    pool = IdleExitingThreadPool(2, thread_name_prefix="t")
    assert pool.submit(lambda a, b: a + b, 2, b=3).result(WAIT) == 5

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        pool.submit(fail).result(WAIT)
    pool.shutdown()


def test_threads_start_only_up_to_the_limit_and_run_everything_queued() -> None:
    pool = IdleExitingThreadPool(3, thread_name_prefix="t", idle_seconds=WAIT)
    release = threading.Event()
    running = []
    guard = threading.Lock()

    def work(i: int) -> int:
        with guard:
            running.append(threading.current_thread().name)
        release.wait(WAIT)
        return i

    futures = [pool.submit(work, i) for i in range(12)]
    assert _until(lambda: len(running) == 3)
    time.sleep(0.1)
    assert len(running) == 3  # the other nine wait in the queue
    assert pool.threads() == 3
    release.set()
    assert [f.result(WAIT) for f in futures] == list(range(12))
    assert set(running) <= {"t_1", "t_2", "t_3"}
    pool.shutdown()


def test_an_idle_pool_reuses_its_thread_instead_of_starting_another() -> None:
    pool = IdleExitingThreadPool(4, thread_name_prefix="t", idle_seconds=WAIT)
    names = set()
    for _ in range(20):
        names.add(pool.submit(lambda: threading.current_thread().name).result(WAIT))
        time.sleep(0.005)  # the thread is back waiting before the next submission
    assert names == {"t_1"}
    pool.shutdown()


def test_threads_end_after_their_idle_time_and_the_pool_starts_new_ones() -> None:
    pool = IdleExitingThreadPool(4, thread_name_prefix="t", idle_seconds=0.2)
    gate = threading.Barrier(4)
    futures = [pool.submit(gate.wait, WAIT) for _ in range(4)]
    for future in futures:
        future.result(WAIT)
    assert pool.threads() == 4
    assert _until(lambda: pool.threads() == 0)
    assert _until(lambda: not any(t.name.startswith("t_") for t in threading.enumerate()))
    assert pool.submit(lambda: 7).result(WAIT) == 7
    pool.shutdown()


def test_work_submitted_while_threads_time_out_is_never_stranded() -> None:
    # Idle times this short make threads give up while submissions arrive: every submission
    # must still run, whichever thread ends.
    pool = IdleExitingThreadPool(2, thread_name_prefix="t", idle_seconds=0.001)
    for round_ in range(300):
        futures = [pool.submit(lambda i=i: i) for i in range(3)]
        assert [f.result(WAIT) for f in futures] == [0, 1, 2], round_
        time.sleep(0.0005 * (round_ % 5))
    pool.shutdown()


def test_work_after_a_backlog_drained_and_its_threads_ended_still_runs() -> None:
    # A backlog that busy threads drain, then every thread ends: the next submission must
    # start a thread. (A separate idle count drifted by one for every queued work a busy
    # thread took, and the submission after the threads ended counted on one that was gone.)
    pool = IdleExitingThreadPool(2, thread_name_prefix="t", idle_seconds=0.2)
    release = threading.Event()
    backlog = [pool.submit(release.wait, WAIT) for _ in range(10)]
    release.set()
    assert all(f.result(WAIT) for f in backlog)
    assert _until(lambda: pool.threads() == 0)
    assert pool.submit(lambda: "ran").result(WAIT) == "ran"
    pool.shutdown()


def test_shutdown_runs_what_was_queued_and_refuses_new_work() -> None:
    pool = IdleExitingThreadPool(1, thread_name_prefix="t", idle_seconds=WAIT)
    release = threading.Event()
    first = pool.submit(release.wait, WAIT)
    queued = [pool.submit(lambda i=i: i) for i in range(3)]
    closer = threading.Thread(target=pool.shutdown)
    closer.start()
    release.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert first.result(0) is True
    assert [f.result(0) for f in queued] == [0, 1, 2]
    assert pool.threads() == 0
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)


def test_shutdown_can_cancel_what_was_queued() -> None:
    pool = IdleExitingThreadPool(1, thread_name_prefix="t", idle_seconds=WAIT)
    release = threading.Event()
    first = pool.submit(release.wait, WAIT)
    assert _until(lambda: first.running())
    queued: list[Future[int]] = [pool.submit(lambda: 1) for _ in range(3)]
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert first.result(WAIT) is True
    for future in queued:
        with pytest.raises(CancelledError):
            future.result(0)
    assert _until(lambda: pool.threads() == 0)


def test_a_pool_needs_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IdleExitingThreadPool(0, thread_name_prefix="t")
