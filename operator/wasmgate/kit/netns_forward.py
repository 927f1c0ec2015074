"""Carry TCP from the real node's loopback to the host's loopback, so its kubelet reaches the kit.

The apiserver, like every kit component, listens on the host's 127.0.0.1 only, which a process
inside the node's network namespace cannot reach. This forwarder opens its listening socket
inside that namespace (127.0.0.1:<port> there) and connects out from the host namespace to
127.0.0.1:<port>: bytes are copied in user space, no route or NAT joins the two namespaces, and
hostNetwork pods of the node see the apiserver on the same loopback address as everything else.
The kit's registries are forwarded the same way, so containerd pulls `127.0.0.1:<port>/...`
from the very registry a test pushed to.

Run as `python -m wasmgate.kit.netns_forward <netns path> <port> [<port> ...]`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from wasmgate.kit.net import LOOPBACK
from wasmgate.kit.netns import entered

CHUNK = 65536


def listen_inside(namespace: Path, port: int) -> socket.socket:
    with entered(namespace):
        return socket.create_server((LOOPBACK, port), backlog=128)


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


async def _serve(listeners: dict[int, socket.socket]) -> None:
    servers = [
        await asyncio.start_server(_handler(port), sock=sock) for port, sock in listeners.items()
    ]
    print(f"forwarding {sorted(listeners)} into the node namespace", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> int:
    namespace, *ports = argv
    # Sockets are made before the event loop starts threads: setns changes one thread only.
    listeners = {int(port): listen_inside(Path(namespace), int(port)) for port in ports}
    asyncio.run(_serve(listeners))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
