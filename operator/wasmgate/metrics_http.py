"""The HTTP endpoint of `wasmgate run` and `wasmgate agent`: /metrics, /healthz and /readyz.

prometheus-client's own server answers every path with metrics; a Deployment also needs a
readiness answer that says "not yet" while kopf starts or the webhook is not listening, so the
webhook Service sends no admission review to a replica that cannot answer it. Liveness here only
says the process serves HTTP; the operator's livenessProbe uses kopf's endpoint, which reflects
kopf's event loop.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wasmgate.metrics import registry

ReadinessCheck = Callable[[], str | None]
"""Returns None when ready, else what is missing (shown in the /readyz body)."""
CONNECT_TIMEOUT_SECONDS = 0.5


def flag_set(flag: threading.Event, what: str) -> ReadinessCheck:
    """Ready once `flag` is set (e.g. kopf's ready_flag)."""
    return lambda: None if flag.is_set() else f"{what} has not started"


def port_listening(host: str, port: int) -> ReadinessCheck:
    """Ready while something accepts TCP connections on host:port (e.g. the webhook)."""

    def check() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
                return None
        except OSError as e:
            return f"nothing listens on {host}:{port} ({e.strerror or e})"

    return check


@dataclass(frozen=True)
class Endpoint:
    """A running metrics/health server; `stop()` closes it."""

    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        return int(self.server.server_address[1])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _handler(checks: Sequence[ReadinessCheck]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._answer(200, b"ok\n")
            elif path == "/readyz":
                missing = [m for m in (check() for check in checks) if m is not None]
                body = "".join(f"{m}\n" for m in missing) or "ok\n"
                self._answer(503 if missing else 200, body.encode())
            else:
                self._answer(404, b"try /metrics, /healthz or /readyz\n")

        def _answer(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # Probes every few seconds would flood the operator's log.
            return

    return Handler


def serve(host: str, port: int, checks: Sequence[ReadinessCheck] = ()) -> Endpoint:
    """Serve /metrics, /healthz and /readyz from a daemon thread."""
    server = ThreadingHTTPServer((host, port), _handler(tuple(checks)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="wasmgate-metrics", daemon=True)
    thread.start()
    return Endpoint(server, thread)
