"""An HTTPS proxy between wasmgate and registries, and the SSRF guard's view through it.

Clusters without direct egress reach registries through a proxy (HTTPS_PROXY, NO_PROXY, as every
HTTP client reads them; or `--https-proxy`, `--no-proxy`). Only HTTPS goes through it, as a
CONNECT tunnel, so registry credentials travel inside TLS with the registry and never in clear to
the proxy; plain-HTTP registries (test and lab ones) are reached directly.

Through a tunnel the socket's peer is the proxy, so ssrf.py's check on the connected socket
would judge the proxy, never the registry. The target is therefore judged before the CONNECT:
a literal address directly, a name by resolving it here and refusing when any answer lies in a
blocked network. The trade-off: the proxy resolves the name again, and a name that answers
differently the second time (DNS rebinding) is not caught; a proxy that itself refuses
link-local and metadata addresses closes that gap.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import normalize_registry
from wasmgate.oci.ssrf import AddressBlocked, IPNetwork, blocked_network

Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class ProxySettings:
    """Where HTTPS registry traffic goes, and which hosts bypass it."""

    url: str
    """Proxy URL, `http://host:port` (or `https://`), optionally with `user:password@`."""
    no_proxy: tuple[str, ...] = ()
    """Hosts reached directly: `host`, `host:port`, `.domain` / `domain` (with subdomains), an
    address or CIDR, or `*` for all. Default: none."""

    def __repr__(self) -> str:
        parts = urlsplit(self.url)
        return f"ProxySettings({parts.scheme}://{parts.hostname}:{parts.port}, {self.no_proxy})"

    def applies_to(self, host: str) -> bool:
        """Whether a request to registry `host[:port]` goes through the proxy."""
        name, _, port = normalize_registry(host).rpartition(":")
        if not name or not port.isdigit():
            name, port = normalize_registry(host), ""
        name = name.strip("[]").lower()
        return not any(_bypasses(entry, name, port) for entry in self.no_proxy)


class TargetBlocked(AddressBlocked):
    """A proxy's CONNECT target is, or resolves to, a blocked address."""

    def __init__(self, host: str, address: str, network: str) -> None:
        super().__init__(host, address, network)
        self.args = (
            f"{host} resolves to {address}, which is in blocked network {network} (judged "
            "before the proxy's CONNECT)",
        )


def _bypasses(entry: str, name: str, port: str) -> bool:
    entry = entry.strip().lower()
    if entry == "*":
        return True
    if not entry:
        return False
    if "/" in entry:
        try:
            return ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    entry_name, sep, entry_port = entry.rpartition(":")
    if sep and entry_port.isdigit() and entry_name and "]" not in entry_port:
        if entry_port != port:
            return False
        entry = entry_name
    entry = entry.strip("[]").lstrip(".")
    return name == entry or name.endswith("." + entry)


def parse_proxy(url: str, no_proxy: str, flag: str, no_proxy_flag: str) -> ProxySettings:
    """ProxySettings from a URL and a comma-separated bypass list; InvalidSpec naming the flag."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSpec(
            f'{flag}: "{_redacted(url)}" is not a proxy URL; write http://HOST:PORT, e.g. '
            f"{flag}=http://proxy.corp.example:3128"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as e:
        raise InvalidSpec(f'{flag}: "{_redacted(url)}" has a bad port ({e})') from e
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidSpec(
            f'{flag}: "{_redacted(url)}" has a path or query; a proxy is only scheme://host:port'
        )
    return ProxySettings(url, parse_no_proxy(no_proxy, no_proxy_flag))


def parse_no_proxy(no_proxy: str, flag: str) -> tuple[str, ...]:
    """The bypass entries of a comma-separated list; InvalidSpec naming the flag."""
    entries = tuple(e.strip() for e in no_proxy.split(",") if e.strip())
    for entry in entries:
        if " " in entry or "://" in entry:
            raise InvalidSpec(
                f'{flag}: "{entry}" is not a host; write host, host:port, .domain, '
                "an address or a CIDR, comma-separated"
            )
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as e:
                raise InvalidSpec(
                    f'{flag}: "{entry}" is not a CIDR ({e}); write e.g. 10.0.0.0/8'
                ) from e
    return entries


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _resolve(host: str, port: int) -> list[str]:
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(answer[4][0]) for answer in answers]


def check_target(
    host: str, port: int, networks: Sequence[IPNetwork], resolve: Resolver = _resolve
) -> None:
    """Refuse a CONNECT target that is, or resolves to, a blocked address (TargetBlocked).

    A name that does not resolve here is left to the proxy (it may see a DNS we do not).
    """
    try:
        addresses: Sequence[str] = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except OSError:
            return
    for address in addresses:
        network = blocked_network(address, networks)
        if network is not None:
            raise TargetBlocked(host, address, str(network))
