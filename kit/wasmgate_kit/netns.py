"""The real node's network: a network namespace the kit creates, and nothing that leaves it.

The kubelet refuses a loopback node IP, and this machine's rule is that no packet may go anywhere
but loopback or network namespaces the kit itself creates. So each real node gets its own
namespace `wgkit-<index>` with one veth pair to the host namespace: the node's address is the
namespace end (`10.232.<index>.2`), the host end (`10.232.<index>.1`) lets the apiserver reach
the kubelet (logs, exec). Pods get addresses from `10.233.<index>.0/24` on a bridge inside the
namespace (kit/containerd.py); the host routes that subnet to the node (the apiserver calls
webhooks at pod addresses), and the node forwards between its two links. No default route exists
anywhere and nothing is NATed: a packet for any other address has no route, so it is never sent.
The `kubernetes` Service's address sits on the namespace's loopback device, where the kit's
forwarder shows the apiserver (kit/netns_forward.py).

Indexes are claimed atomically by `ip netns add` (it refuses an existing name), so kits running
side by side get disjoint names and subnets. Each claim records its owner in `/run/wasmgate-kit/`;
a later kit removes namespaces whose owner died without cleaning up (kit/real_node.py).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmgate_kit.errors import KitError
from wasmgate_kit.net import KUBERNETES_SERVICE_ADDRESS

NAME_PREFIX = "wgkit-"
MAX_INDEX = 250
OWNER_DIR = Path("/run/wasmgate-kit")
NETNS_DIR = Path("/run/netns")
SOCKET_ROOT = Path("/tmp/wasmgate-kit")  # noqa: S108 - root-owned 0700 directories per node
NODE_INTERFACE = "eth0"
_CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class KitNetwork:
    """Names and addresses of one real node's network namespace."""

    index: int

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.index}"

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name

    @property
    def host_veth(self) -> str:
        return f"wgkit{self.index}h"

    @property
    def host_address(self) -> str:
        return f"10.232.{self.index}.1"

    @property
    def node_address(self) -> str:
        return f"10.232.{self.index}.2"

    @property
    def node_subnet(self) -> str:
        """The veth's subnet: the host end and the node."""
        return f"10.232.{self.index}.0/24"

    @property
    def pod_cidr(self) -> str:
        return f"10.233.{self.index}.0/24"

    @property
    def socket_dir(self) -> Path:
        """Where the node's containerd listens: a short path, as unix socket paths are limited
        to 108 bytes (containerd's `.ttrpc` one to 104) and a state dir may be deep; under /tmp,
        which the node's private mounts leave shared with the host, so `ctr` reaches it."""
        return SOCKET_ROOT / self.name

    @property
    def owner_file(self) -> Path:
        return OWNER_DIR / f"{self.name}.json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hostVeth": self.host_veth,
            "hostAddress": self.host_address,
            "nodeAddress": self.node_address,
            "podCIDR": self.pod_cidr,
        }


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS`; with `check`, a failure raises KitError with ip's message."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise KitError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result


def claim_network(owner: dict[str, Any]) -> KitNetwork:
    """Create the first free `wgkit-<index>` namespace, wire it, and record `owner` for it."""
    OWNER_DIR.mkdir(parents=True, exist_ok=True)
    for index in range(MAX_INDEX):
        network = KitNetwork(index)
        if ip("netns", "add", network.name, check=False).returncode != 0:
            continue  # taken by another kit (or a leftover the sweep could not remove)
        write_owner(network, owner)
        try:
            _wire(network)
        except BaseException:
            release_network(network)
            raise
        return network
    raise KitError(f"no free network namespace {NAME_PREFIX}0..{MAX_INDEX - 1}")


def write_owner(network: KitNetwork, owner: dict[str, Any]) -> None:
    network.owner_file.write_text(json.dumps(owner))


def _wire(network: KitNetwork) -> None:
    name = network.name
    ip("-n", name, "link", "set", "lo", "up")
    # Both ends are created here: the peer is born inside the namespace, never on a real device.
    ip("link", "add", network.host_veth, "type", "veth", "peer", "name", NODE_INTERFACE,
       "netns", name)  # fmt: skip
    for namespace, device in ((None, network.host_veth), (name, NODE_INTERFACE)):
        _disable_ipv6(namespace, device)
    ip("addr", "add", f"{network.host_address}/24", "dev", network.host_veth)
    ip("-n", name, "addr", "add", f"{network.node_address}/24", "dev", NODE_INTERFACE)
    ip("link", "set", network.host_veth, "up")
    ip("-n", name, "link", "set", NODE_INTERFACE, "up")
    # The `kubernetes` Service's address is the node's own: the forwarder listens there.
    ip("-n", name, "addr", "add", f"{KUBERNETES_SERVICE_ADDRESS}/32", "dev", "lo")
    # The apiserver calls webhooks at a pod's address: the host reaches the pod subnet through
    # the node, which forwards between its veth and the pod bridge (and nowhere else: it has
    # no other route).
    ip("route", "add", network.pod_cidr, "via", network.node_address, "dev", network.host_veth)
    with entered(network.path):
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")


def _disable_ipv6(namespace: str | None, device: str) -> None:
    """No IPv6 on the veth: no router solicitations or DAD chatter, one address family to audit."""
    setting = f"/proc/sys/net/ipv6/conf/{device}/disable_ipv6"
    if namespace is None:
        Path(setting).write_text("1")
    else:
        with entered(NETNS_DIR / namespace):
            Path(setting).write_text("1")


def release_network(network: KitNetwork) -> None:
    """Delete the host veth (its peer goes with it) and the namespace; forget the owner."""
    shutil.rmtree(network.socket_dir, ignore_errors=True)
    ip("link", "del", network.host_veth, check=False)
    if network.path.exists():
        ip("netns", "del", network.name)
    network.owner_file.unlink(missing_ok=True)


def pids_in(network: KitNetwork) -> list[int]:
    """Processes whose network namespace is this one."""
    result = ip("netns", "pids", network.name, check=False)
    return [int(p) for p in result.stdout.split()] if result.returncode == 0 else []


def owned_networks() -> Iterator[tuple[KitNetwork, dict[str, Any]]]:
    """Every namespace some kit recorded, with what it recorded."""
    if not OWNER_DIR.is_dir():
        return
    for path in sorted(OWNER_DIR.glob(f"{NAME_PREFIX}*.json")):
        try:
            index = int(path.stem.removeprefix(NAME_PREFIX))
            owner: dict[str, Any] = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        yield KitNetwork(index), owner


def existing_names() -> set[str]:
    """Names of the network namespaces under /run/netns right now."""
    return {p.name for p in NETNS_DIR.iterdir()} if NETNS_DIR.is_dir() else set()


def host_links() -> set[str]:
    """Names of the host namespace's network devices."""
    return {p.name for p in Path("/sys/class/net").iterdir()}


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextmanager
def entered(namespace: Path) -> Iterator[None]:
    """Run the block with this thread in `namespace`'s network namespace (sockets created
    inside stay there), then return to the original one."""
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(namespace, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(original)
    finally:
        os.close(target)
        os.close(original)
