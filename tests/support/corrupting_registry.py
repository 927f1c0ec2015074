"""A registry that serves wrong bytes for a digest: a plain-HTTP proxy in front of a kit registry.

Everything passes through unchanged (manifests, tags, signatures, HEAD requests), except the body
of a blob GET (`/v2/<name>/blobs/sha256:...`) whose digest the test listed in `corrupt`: its
length and headers stay, one byte is flipped. That is what a faulty cache or a compromised mirror
does, and the client can tell only by hashing what it received.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Hop-by-hop headers (RFC 9110, 7.6.1) are the proxy's own, never forwarded.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade"})


@dataclass
class CorruptingRegistry:
    """The proxy's address and what it corrupts."""

    host: str
    """host:port clients name in their references (plain HTTP)."""
    upstream: str
    """host:port of the registry behind it (plain HTTP)."""
    corrupt: set[str] = field(default_factory=set)
    """Blob digests whose bodies are served with one byte flipped."""
    served: list[str] = field(default_factory=list)
    """Digests of the blobs served corrupted, in order."""


def _flipped(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]


def _handler(registry: CorruptingRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request_body = self.rfile.read(length) if length else None
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "host"
            }
            upstream = http.client.HTTPConnection(registry.upstream, timeout=60)
            try:
                upstream.request(self.command, self.path, request_body, headers)
                response = upstream.getresponse()
                body = response.read()
            finally:
                upstream.close()
            digest = self.path.rsplit("/blobs/", 1)[-1] if "/blobs/" in self.path else None
            if self.command == "GET" and response.status == 200 and digest in registry.corrupt:
                body = _flipped(body)
                registry.served.append(digest)
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            # A HEAD answer keeps the upstream's length for the body it did not send.
            length_sent = response.getheader("Content-Length") or "0"
            self.send_header(
                "Content-Length", length_sent if self.command == "HEAD" else str(len(body))
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    return Handler


@contextmanager
def corrupting_registry(upstream: str) -> Iterator[CorruptingRegistry]:
    """Serve a corrupting proxy for the plain-HTTP registry at `upstream` on a free local port."""
    registry = CorruptingRegistry("", upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="corrupting-registry", daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
