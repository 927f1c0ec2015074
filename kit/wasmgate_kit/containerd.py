"""The real node's container runtime: Debian's containerd and runc, confined to the kit.

containerd starts in a mount namespace of its own (a slave of the host's, so it still sees the
host's files) inside the node's network namespace, with fresh tmpfs mounts over `/run`,
`/var/log` and `/var/lib/cni`, and a directory of the kit's over `/var/lib/wasmgate` (where the
agent's hostPath store lives). Every mount it, runc, the CNI plugins and the kubelet (which
joins the same namespaces) make, pod network namespaces included, lives and dies with that mount
namespace: the host never sees them, and nothing is left mounted once the node's processes are
gone. Its images and snapshots live under the kit's state dir; its socket too, so host-side
tools (`ctr`) reach it.

Two settings this machine needs (issue 14): CRI `restrict_oom_score_adj = true` (the sandbox
refuses lowering oom_score_adj; runc otherwise fails with "can't get final child's PID from
pipe"), and runc rather than crun (crun 1.8 refuses the hybrid cgroup v1/v2 layout).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from wasmgate_kit.errors import KitError
from wasmgate_kit.net import SERVICE_CIDR
from wasmgate_kit.netns import KitNetwork

RUNC = Path("/usr/sbin/runc")
CNI_BIN_DIR = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "loopback")
HOST_TOOLS = ("containerd", "containerd-shim-runc-v2", "ctr", "ip", "nsenter", "unshare")
CNI_NETWORK = "wasmgate-kit"
CNI_BRIDGE = "cni0"
IMPORT_TIMEOUT = 120

# The kubelet (cgroupfs, protectKernelDefaults false) rewrites these host-wide sysctls unless it
# reads its wanted values; protectKernelDefaults true makes it refuse to start instead. Inside the
# node's mount namespace each is covered by a file holding that value, so the kubelet is content
# and the host's settings are never touched (containers get a fresh /proc from runc anyway).
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": 1,
    "vm/panic_on_oom": 0,
    "kernel/panic": 10,
    "kernel/panic_on_oops": 1,
    "kernel/keys/root_maxkeys": 1000000,
    "kernel/keys/root_maxbytes": 25000000,
}
_COVER_SYSCTLS = "".join(
    f"echo {value} > /run/wgkit-sysctl/{index}\n"
    f"mount --bind /run/wgkit-sysctl/{index} /proc/sys/{name}\n"
    for index, (name, value) in enumerate(KUBELET_SYSCTLS.items())
)
# Run by `sh -c` inside the new mount and network namespaces, then exec containerd.
_PRIVATE_MOUNTS = f"""set -e
mount -t tmpfs -o mode=0755 wgkit-run /run
mount -t tmpfs -o mode=0755 wgkit-log /var/log
mkdir -p /var/lib/cni /var/lib/wasmgate
mount -t tmpfs -o mode=0700 wgkit-cni /var/lib/cni
mount --bind "$WGKIT_VAR_LIB_WASMGATE" /var/lib/wasmgate
mkdir /run/wgkit-sysctl
{_COVER_SYSCTLS}exec "$@"
"""


def check_installed() -> None:
    """Fail with the fix when a Debian package the real node needs is missing."""
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    missing += [str(p) for p in [RUNC, *(CNI_BIN_DIR / name for name in CNI_PLUGINS)]
                if not p.exists()]  # fmt: skip
    if missing:
        raise KitError(
            f"the real node needs {', '.join(missing)}; install the Debian packages in "
            "tools/apt-packages.txt (`make apt`: containerd, runc, containernetworking-plugins)"
        )


def _plain_http_registries(hosts: tuple[str, ...]) -> str:
    """The kit's registries speak plain HTTP on loopback; the forwarder shows each on the node's
    own 127.0.0.1 at the same port, so an image name means the same on both sides."""
    return "".join(
        f"""
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.{json.dumps(host)}]
    endpoint = [{json.dumps(f"http://{host}")}]
"""
        for host in hosts
    )


def write_config(
    directory: Path,
    *,
    socket: Path,
    sandbox_image: str,
    cni_conf_dir: Path,
    registries: tuple[str, ...] = (),
) -> Path:
    root = directory / "root"
    config = f"""version = 2
root = {json.dumps(str(root))}
state = "/run/containerd"

[grpc]
  address = {json.dumps(str(socket))}

[plugins."io.containerd.internal.v1.opt"]
  path = {json.dumps(str(root / "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {json.dumps(sandbox_image)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = {json.dumps(str(RUNC))}
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = {json.dumps(str(CNI_BIN_DIR))}
    conf_dir = {json.dumps(str(cni_conf_dir))}
    max_conf_num = 1
{_plain_http_registries(registries)}"""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(config)
    return path


def write_cni_config(conf_dir: Path, network: KitNetwork, ipam_dir: Path) -> Path:
    """A bridge inside the node's namespace, host-local addresses from the node's pod CIDR.

    No default route and no masquerading: a pod reaches its own subnet (the bridge, so the
    kubelet's probes and other pods on the node), the Service range and the node's veth subnet
    through the node (the apiserver and registries that the forwarder shows there, and the host
    end that calls webhooks), and nothing else.
    """
    config = {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": CNI_BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.pod_cidr}]],
                    "routes": [{"dst": SERVICE_CIDR}, {"dst": network.node_subnet}],
                    "dataDir": str(ipam_dir),
                },
            }
        ],
    }
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / "10-wasmgate-kit.conflist"
    path.write_text(json.dumps(config, indent=2))
    return path


def containerd_argv(config: Path, network: KitNetwork, var_lib_wasmgate: Path) -> list[str]:
    """containerd in its private namespaces; the node's `/var/lib/wasmgate` (the hostPath of the
    agent's store) is `var_lib_wasmgate`, a directory of the kit's, so tests read the store."""
    return [
        "env", f"WGKIT_VAR_LIB_WASMGATE={var_lib_wasmgate}",
        "unshare", "--mount", "--propagation", "slave", "--",
        "nsenter", f"--net={network.path}", "--",
        "sh", "-c", _PRIVATE_MOUNTS, "wgkit-containerd",
        "containerd", "--config", str(config),
    ]  # fmt: skip


def in_node_argv(containerd_pid: int, argv: list[str]) -> list[str]:
    """`argv` run in the node's namespaces (containerd's mount and network namespace)."""
    return ["nsenter", f"--target={containerd_pid}", "--mount", "--net", "--", *argv]


def ctr_version(socket: Path) -> bool:
    """True once containerd answers on `socket`."""
    argv = ["ctr", f"--address={socket}", "version"]
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


def import_image(socket: Path, archive: Path) -> None:
    """`ctr images import` into the CRI namespace, so the kubelet finds it without a pull."""
    argv = ["ctr", f"--address={socket}", "--namespace=k8s.io", "images", "import", str(archive)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=IMPORT_TIMEOUT)
    if result.returncode != 0:
        raise KitError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")
