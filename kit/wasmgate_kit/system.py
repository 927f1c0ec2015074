"""wasmgate itself on the kit: CRDs installed, the operator and one agent per node as processes.

`wasmgate-kit up` runs this after the kit is up, so the whole system is there to poke at by hand
(and `make demo` reuses it). The operator serves the admission webhook on a free loopback port,
its certificates under the kit's state dir, so `kubectl apply` of a bad manifest is refused by
the webhook as in a cluster (see docs/admission.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate_admission.settings import DEFAULT_CONFIGURATION_NAME
from wasmgate_kit.errors import KitError
from wasmgate_kit.kit import Kit
from wasmgate_kit.node_agent import start_node_agent
from wasmgate_kit.nodes import kit_node_name
from wasmgate_kit.operator_command import FREE_PORT, operator_argv, wasmgate_environment
from wasmgate_kit.paths import repo_root
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.real_schedulers import verify_store_flags
from wasmgate_kit.wait import wait_for

SYSTEM_NAMESPACE = "wasmgate-system"
OPERATOR_PROCESS = "wasmgate-operator"
WEBHOOK_READY_TIMEOUT = 90.0


def store_dir(kit: Kit, node: str) -> Path:
    """The directory that plays node `node`'s /var/lib/wasmgate/store."""
    return kit.state_dir / "stores" / node


def _kubectl(kit: Kit, *args: str | Path, stdin: str | None = None) -> None:
    argv = [str(kit.binary("kubectl")), f"--kubeconfig={kit.kubeconfig}", *map(str, args)]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise KitError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")


def install_crds(kit: Kit) -> None:
    _kubectl(kit, "apply", "-k", repo_root() / "crds")
    _kubectl(kit, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
    _kubectl(kit, "apply", "-f", "-", stdin=json.dumps(namespace))
    # The account scheduler pods run as: installed by deploy/, never by the operator.
    _kubectl(kit, "apply", "-f", repo_root() / "deploy" / "scheduler" / "rbac.yaml")


def start_wasmgate(
    kit: Kit, agent_flags: Sequence[str] = (), operator_flags: Sequence[str] = ()
) -> list[ManagedProcess]:
    """Install the CRDs, then start the operator (with `operator_flags` added, e.g. a short
    `--resync-seconds`) and the agents (with `agent_flags` added, e.g. a short `--gc-grace` for
    a fault test); returns the processes.

    With a real node, its agent is a pod there (kit/node_agent.py) staging into the node's own
    store, which the scheduler pods mount, and the operator names the wasmgate image the kit
    built for their init container."""
    install_crds(kit)
    hosts = [registry.host for registry in kit.registries.values()]
    logs = kit.state_dir / "logs"
    extra = [*(verify_store_flags(kit) if kit.node is not None else []), *operator_flags]
    operator = ManagedProcess(
        OPERATOR_PROCESS,
        operator_argv(kit.kubeconfig, plain_http=hosts, webhook_port=FREE_PORT,
                      webhook_cert_dir=kit.state_dir / "admission", extra=extra),
        logs / "wasmgate-operator.log",
        env=wasmgate_environment(),
    )  # fmt: skip
    processes = [operator]
    if kit.node is not None:
        start_node_agent(kit, hosts, agent_flags)
    for node in (kit_node_name(index) for index in range(kit.nodes)):
        processes.append(
            ManagedProcess(
                f"wasmgate-agent-{node}",
                [
                    sys.executable,
                    "-m",
                    "wasmgate",
                    "agent",
                    f"--node={node}",
                    f"--store={store_dir(kit, node)}",
                    f"--kubeconfig={kit.kubeconfig}",
                    f"--secret-namespace={SYSTEM_NAMESPACE}",
                    *(f"--plain-http={host}" for host in hosts),
                    *agent_flags,
                ],
                logs / f"wasmgate-agent-{node}.log",
                env=wasmgate_environment(),
            )
        )
    for process in processes:
        process.start()
    wait_for_webhook(kit, operator)
    return processes


def wait_for_webhook(kit: Kit, operator: ManagedProcess) -> None:
    """Return once the operator has registered its webhook with a CA bundle, so no apply made
    after `wasmgate-kit up` returns slips past admission."""

    def registered() -> bool:
        with kit.api_client() as api:
            admission = client.AdmissionregistrationV1Api(api)
            try:
                found = admission.read_validating_webhook_configuration(DEFAULT_CONFIGURATION_NAME)
            except ApiException as e:
                if e.status == 404:
                    return False
                raise
        return all(hook.client_config.ca_bundle for hook in found.webhooks or []) and bool(
            found.webhooks
        )

    wait_for(
        registered,
        what=f"the operator to register webhook configuration {DEFAULT_CONFIGURATION_NAME}",
        timeout=WEBHOOK_READY_TIMEOUT,
        alive=operator.check_alive,
    )
