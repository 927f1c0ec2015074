"""The /metrics, /healthz and /readyz endpoint, served on a free port and read over HTTP."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from wasmgate import metrics
from wasmgate.metrics_http import Endpoint, flag_set, port_listening, serve


def get(endpoint: Endpoint, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{endpoint.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def started() -> threading.Event:
    return threading.Event()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


@pytest.fixture
def endpoint(started: threading.Event, listener: socket.socket) -> Iterator[Endpoint]:
    port = listener.getsockname()[1]
    running = serve("127.0.0.1", 0, [flag_set(started, "kopf"), port_listening("127.0.0.1", port)])
    yield running
    running.stop()


def test_metrics_show_recorded_series(endpoint: Endpoint) -> None:
    metrics.record_rollout("Started")
    code, body = get(endpoint, "/metrics")
    assert code == 200
    started = [line for line in body.splitlines()
               if line.startswith('wasmgate_rollout_steps_total{step="Started"}')]  # fmt: skip
    assert len(started) == 1 and float(started[0].split()[-1]) >= 1, body[:2000]


def test_readiness_waits_for_every_check(
    endpoint: Endpoint, started: threading.Event, listener: socket.socket
) -> None:
    assert get(endpoint, "/readyz") == (503, "kopf has not started\n")
    started.set()
    assert get(endpoint, "/readyz") == (200, "ok\n")
    port = listener.getsockname()[1]
    listener.close()
    code, body = get(endpoint, "/readyz")
    assert (code, body.startswith(f"nothing listens on 127.0.0.1:{port}")) == (503, True), body


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/healthz", (200, "ok\n")), ("/other", (404, "try /metrics, /healthz or /readyz\n"))],
    ids=["liveness", "unknown-path"],
)
def test_other_paths(endpoint: Endpoint, path: str, expected: tuple[int, str]) -> None:
    assert get(endpoint, path) == expected
