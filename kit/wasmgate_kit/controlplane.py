"""The kit's Kubernetes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok.

All listen on 127.0.0.1 at ports chosen at start. The apiserver authenticates with client
certificates and authorises with RBAC; every component has its own identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wasmgate.rollout.names import COMPONENT_SCHEDULER, LABEL_COMPONENT
from wasmgate_kit.kubeconfig import write_kubeconfig
from wasmgate_kit.net import (
    KUBERNETES_SERVICE_ADDRESS,
    LOOPBACK,
    SERVICE_CIDR,
    free_port,
    http_status,
)
from wasmgate_kit.pki import CertificateAuthority, CertPair, write_service_account_keys
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

# kwok leaves the status of scheduler pods alone (flag deprecated in kwok v0.7 in favour of Stage
# objects, still honoured by pod_controller.go `need()`): a scheduler pod placed on a kwok node,
# which runs no containers, stays unready instead of pretending to run. They run on the real node.
KWOK_FLAGS = (f"--disregard-status-with-label-selector={LABEL_COMPONENT}={COMPONENT_SCHEDULER}",)

START_TIMEOUT = 60.0
NODE_LEASE_SECONDS = 40


@dataclass
class ControlPlane:
    """Handles on the running control plane."""

    state_dir: Path
    binary: Callable[[str], Path]
    processes: list[ManagedProcess] = field(default_factory=list)
    server: str = ""
    ca: Path = Path()
    admin_kubeconfig: Path = Path()
    scheduler_kubeconfig: Path = Path()
    admin_cert: CertPair | None = None

    def start(self) -> None:
        pki = self.state_dir / "pki"
        ca = CertificateAuthority(pki)
        self.ca = ca.cert_path
        self._start_etcd()
        api_port = free_port()
        self.server = f"https://{LOOPBACK}:{api_port}"
        self._start_apiserver(ca, api_port)
        self._write_kubeconfigs(ca)
        self._start_controller_manager()
        self._start_scheduler()
        self._start_kwok()

    def _track(self, process: ManagedProcess) -> ManagedProcess:
        process.start()
        self.processes.append(process)
        return process

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://{LOOPBACK}:{client}"
        etcd = self._track(
            ManagedProcess(
                "etcd",
                [
                    self.binary("etcd"),
                    "--name=kit",
                    f"--data-dir={self.state_dir / 'etcd'}",
                    f"--listen-client-urls={self.etcd_url}",
                    f"--advertise-client-urls={self.etcd_url}",
                    f"--listen-peer-urls=http://{LOOPBACK}:{peer}",
                    f"--initial-advertise-peer-urls=http://{LOOPBACK}:{peer}",
                    f"--initial-cluster=kit=http://{LOOPBACK}:{peer}",
                    # A test cluster: durability across power loss is not worth the fsync cost.
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
                self.state_dir / "logs" / "etcd.log",
            )
        )
        wait_for(
            lambda: http_status(f"{self.etcd_url}/health") == 200,
            what="etcd /health",
            timeout=START_TIMEOUT,
            alive=etcd.check_alive,
        )

    def _start_apiserver(self, ca: CertificateAuthority, port: int) -> None:
        pki = ca.directory
        serving = ca.issue(
            "apiserver",
            "kube-apiserver",
            hosts=(
                *(LOOPBACK, "localhost", "kubernetes", "kubernetes.default.svc"),
                KUBERNETES_SERVICE_ADDRESS,
            ),
        )
        self.admin_cert = ca.issue("admin", "kit-admin", organization="system:masters", client=True)
        sa = write_service_account_keys(pki)
        # For `kubectl logs/exec` on the real node, whose kubelet authenticates its callers.
        kubelet_client = ca.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client",
                                  organization="system:masters", client=True)  # fmt: skip
        self.sa_key = sa.key
        apiserver = self._track(
            ManagedProcess(
                "kube-apiserver",
                [
                    self.binary("kube-apiserver"),
                    f"--etcd-servers={self.etcd_url}",
                    f"--bind-address={LOOPBACK}",
                    f"--advertise-address={LOOPBACK}",
                    f"--secure-port={port}",
                    f"--tls-cert-file={serving.cert}",
                    f"--tls-private-key-file={serving.key}",
                    f"--client-ca-file={ca.cert_path}",
                    f"--service-account-key-file={sa.cert}",
                    f"--service-account-signing-key-file={sa.key}",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    "--authorization-mode=RBAC",
                    "--anonymous-auth=false",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    f"--cert-dir={pki}",
                    "--enable-priority-and-fairness=false",
                    f"--kubelet-client-certificate={kubelet_client.cert}",
                    f"--kubelet-client-key={kubelet_client.key}",
                    # Dial nodes by address: a node's hostname would mean a DNS query.
                    "--kubelet-preferred-address-types=InternalIP",
                    # Webhooks are called at a Pod's address (there is no kube-proxy to carry
                    # a Service's address): the real node's pods are routed to (kit/netns.py).
                    "--enable-aggregator-routing=true",
                    "--v=1",
                ],
                self.state_dir / "logs" / "kube-apiserver.log",
            )
        )
        assert self.admin_cert is not None
        admin = (self.admin_cert.cert, self.admin_cert.key)
        wait_for(
            lambda: http_status(f"{self.server}/readyz", ca=ca.cert_path, client_cert=admin) == 200,
            what="kube-apiserver /readyz",
            timeout=START_TIMEOUT,
            alive=apiserver.check_alive,
        )

    def _write_kubeconfigs(self, ca: CertificateAuthority) -> None:
        assert self.admin_cert is not None
        self.admin_kubeconfig = write_kubeconfig(
            self.state_dir / "admin.kubeconfig",
            server=self.server,
            ca=ca.cert_path,
            cert=self.admin_cert.cert,
            key=self.admin_cert.key,
            user="kit-admin",
        )
        self.controller_manager_kubeconfig = self._client_kubeconfig(
            ca, "controller-manager", "system:kube-controller-manager"
        )
        self.scheduler_kubeconfig = self._client_kubeconfig(
            ca, "scheduler", "system:kube-scheduler"
        )

    def _client_kubeconfig(self, ca: CertificateAuthority, name: str, user: str) -> Path:
        """A kubeconfig for a component identity RBAC already knows (CN = user)."""
        pair = ca.issue(name, user, client=True)
        return write_kubeconfig(
            self.state_dir / f"{name}.kubeconfig",
            server=self.server, ca=ca.cert_path, cert=pair.cert, key=pair.key, user=user,
        )  # fmt: skip

    def _start_controller_manager(self) -> None:
        port = free_port()
        kubeconfig = self.controller_manager_kubeconfig
        kcm = self._track(
            ManagedProcess(
                "kube-controller-manager",
                [
                    self.binary("kube-controller-manager"),
                    f"--kubeconfig={kubeconfig}",
                    f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={port}",
                    "--leader-elect=false",
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={self.sa_key}",
                    f"--root-ca-file={self.ca}",
                    # No kubelets and no cloud: controllers that need them only make noise.
                    "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller",
                    "--v=1",
                ],
                self.state_dir / "logs" / "kube-controller-manager.log",
            )
        )
        wait_for(
            lambda: http_status(f"https://{LOOPBACK}:{port}/healthz", verify=False) == 200,
            what="kube-controller-manager /healthz",
            timeout=START_TIMEOUT,
            alive=kcm.check_alive,
        )

    def _start_scheduler(self) -> None:
        """The default scheduler, for ordinary pods; wasm schedulers are started per revision."""
        port = free_port()
        self._track(
            ManagedProcess(
                "kube-scheduler",
                [
                    self.binary("kube-scheduler"),
                    f"--kubeconfig={self.scheduler_kubeconfig}",
                    f"--authentication-kubeconfig={self.scheduler_kubeconfig}",
                    f"--authorization-kubeconfig={self.scheduler_kubeconfig}",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={port}",
                    "--leader-elect=false",
                    "--v=1",
                ],
                self.state_dir / "logs" / "kube-scheduler.log",
            )
        )

    def _start_kwok(self) -> None:
        self._track(
            ManagedProcess(
                "kwok",
                [
                    self.binary("kwok"),
                    f"--kubeconfig={self.admin_kubeconfig}",
                    "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                    f"--server-address={LOOPBACK}:{free_port()}",
                    f"--node-ip={LOOPBACK}",
                    "--cidr=10.244.0.0/16",
                    # Without a lease duration kwok renews no node Lease and refreshes node
                    # status only every 600 s, so the node lifecycle controller marks every
                    # node NotReady (and every pod unready) about a minute after start.
                    f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
                    *KWOK_FLAGS,
                ],
                self.state_dir / "logs" / "kwok.log",
            )
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
