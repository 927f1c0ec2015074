"""Loopback ports, the kit's Service addresses and HTTP(S) health probes for kit components."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

LOOPBACK = "127.0.0.1"
# The kit's Service range, and the `kubernetes` Service's address in it (the first one), where
# in-cluster clients look for the apiserver (KUBERNETES_SERVICE_HOST/PORT).
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_ADDRESS = "10.96.0.1"
KUBERNETES_SERVICE_PORT = 443


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(
    url: str,
    *,
    ca: Path | None = None,
    client_cert: tuple[Path, Path] | None = None,
    verify: bool = True,
    timeout: float = 2.0,
) -> int:
    """Status code of a GET; raises OSError when nothing answers."""
    context: ssl.SSLContext | None = None
    if url.startswith("https://"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if not verify:
            # Only for components on loopback that serve self-signed certificates.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if client_cert:
            context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            status: int = response.status
            return status
    except urllib.error.HTTPError as e:
        return e.code
