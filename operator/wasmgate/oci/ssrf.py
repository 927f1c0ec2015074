"""Refuse connections to link-local and cloud metadata addresses.

A registry host is user input: a WasmPlugin naming `169.254.169.254/latest:x` must not make the
operator fetch the node's cloud credentials. The check runs on the socket after it connects,
not on a DNS answer before, so a name that resolves differently the second time (DNS rebinding)
and redirects to such addresses are caught too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
"""A blocked network, as the settings list them."""


class AddressBlocked(Exception):
    """A connection reached an address in the blocked networks."""

    def __init__(self, host: str, address: str, network: str) -> None:
        super().__init__(f"{host} connected to {address}, which is in blocked network {network}")
        self.host = host
        self.address = address
        self.network = network


def blocked_network(address: str, networks: Sequence[IPNetwork]) -> IPNetwork | None:
    """The blocked network containing this address, if any (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for network in networks:
        if ip.version == network.version and ip in network:
            return network
    return None


def _check_socket(sock: socket.socket, host: str, networks: Sequence[IPNetwork]) -> None:
    address = str(sock.getpeername()[0])
    network = blocked_network(address, networks)
    if network is not None:
        sock.close()
        raise AddressBlocked(host, address, str(network))


def checked_pool_classes(networks: Sequence[IPNetwork]) -> dict[str, type[Any]]:
    """urllib3 pool classes whose connections refuse blocked peers, for a PoolManager."""
    frozen = tuple(networks)

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_socket(sock, self.host, frozen)
            return sock

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_socket(sock, self.host, frozen)
            return sock

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    return {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}
