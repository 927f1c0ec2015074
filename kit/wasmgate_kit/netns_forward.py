"""Carry TCP from the real node's namespace to the host's loopback, so the node and its pods
reach the kit.

The apiserver, like every kit component, listens on the host's 127.0.0.1 only, which a process
inside the node's network namespace cannot reach. This forwarder opens its listening sockets
inside that namespace and connects out from the host namespace to 127.0.0.1:<target port>:
bytes are copied in user space, no route or NAT joins the two namespaces.

Each argument is `ADDRESS:PORT=TARGET_PORT`. The kit listens on the namespace's every address
(`0.0.0.0:<port>`) at the host's port, so `127.0.0.1:<port>` means the same for the kubelet,
containerd and hostNetwork pods as on the host, and pods on the pod network reach the same port
at the node's address. The apiserver is also shown at the `kubernetes` Service address
(`10.96.0.1:443`), which the kit puts on the namespace's loopback device: that is where in-cluster
clients look for it, and there is no kube-proxy to carry them there.

Run as `python -m wasmgate_kit.netns_forward <netns path> SPEC [SPEC ...]`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from wasmgate_kit.net import LOOPBACK
from wasmgate_kit.netns import entered

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - inside the kit's own namespace only

CHUNK = 65536


@dataclass(frozen=True)
class Forward:
    """Listen on `address:port` inside the namespace; carry to the host's 127.0.0.1:`target`."""

    address: str
    port: int
    target: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}={self.target}"

    @classmethod
    def parse(cls, spec: str) -> Forward:
        listen, _, target = spec.partition("=")
        address, _, port = listen.rpartition(":")
        return cls(address, int(port), int(target))


def every_address(port: int) -> Forward:
    """The host's `port`, at the same port on every address of the namespace."""
    return Forward(ANY_ADDRESS, port, port)


def listen_inside(namespace: Path, forward: Forward) -> socket.socket:
    with entered(namespace):
        return socket.create_server((forward.address, forward.port), backlog=128)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def _handler(port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return handle


async def _serve(listeners: dict[Forward, socket.socket]) -> None:
    servers = [
        await asyncio.start_server(_handler(forward.target), sock=sock)
        for forward, sock in listeners.items()
    ]
    print(f"forwarding {' '.join(map(str, listeners))} into the node namespace", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> int:
    namespace, *specs = argv
    forwards = [Forward.parse(spec) for spec in specs]
    # Sockets are made before the event loop starts threads: setns changes one thread only.
    listeners = {forward: listen_inside(Path(namespace), forward) for forward in forwards}
    asyncio.run(_serve(listeners))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
