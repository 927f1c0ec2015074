"""`helm install charts/wasmgate` on a kit of its own; the operator is Ready under what it installs.

The chart installs the same cluster-scoped objects as deploy/ (CRDs, ClusterRoles, admission
policies), which other e2e modules apply to the session's kit with kubectl; Helm refuses to take
over objects it did not create, so this module starts a second kit with no nodes and installs
the release there exactly as docs/operations.md says.

The kit cannot run the wasmgate image as a pod yet (no image of it is built here; kwok would only
pretend its pods run), so, like tests/e2e/test_deployed_operator.py, the operator runs as a
process that authenticates as the ServiceAccount the chart created, with the flags of the
Deployment the chart created, read back from the cluster. Only what ties a process to a pod is
replaced: the ports it listens on, its certificate directory, and the webhook Service (which
has no endpoints without a pod), so the apiserver calls the webhook on loopback instead. Ready
means what the chart's readinessProbe asks: /readyz answers 200. The operator then shows it can
do its work with the chart's RBAC: it shares its webhook CA through the Secret, writes the
ValidatingWebhookConfiguration, keeps its peering alive and writes a plugin's status. A second
release, with another namespace and store path on a kit of its own, shows the operator rolls its
scheduler out there, past the chart's RBAC and admission policy.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.kit import KitHandle
from support.operator import (
    OperatorProcess,
    apply,
    conditions,
    service_account_kubeconfig,
    wait_plugins,
)
from support.registries import of_kit
from wasmgate_kit.kit import Kit
from wasmgate_kit.net import free_port
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "wasmgate"
SYSTEM = "wasmgate-system"
RELEASE = "wasmgate"
PLUGIN = "helm-e2e-missing"
# kopf logs APIForbiddenError and "Not enough permissions"; the API says "... is forbidden".
PERMISSION_PROBLEMS = ("forbidden", "not enough permissions")
# Flags that tie `wasmgate run` to its pod: replaced for a process on this host (module docstring).
POD_ONLY_FLAGS = (
    "--liveness=",
    "--metrics-port=",
    "--validation-cache-dir=",
    "--webhook-port=",
    "--webhook-listen-address=",
    "--webhook-service=",
    "--webhook-cert-dir=",
)


def _kit_without_nodes(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[KitHandle]:
    kit = Kit(state_dir=tmp_path_factory.mktemp(name), nodes=0)
    kit.start(write_state=False)
    try:
        yield KitHandle(kit)
    finally:
        kit.stop()


@pytest.fixture(scope="module")
def helm_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitHandle]:
    yield from _kit_without_nodes(tmp_path_factory, "helm-kit")


def helm(kit: KitHandle, *args: str | Path) -> str:
    return kit.run("helm", *args, f"--kubeconfig={kit.kubeconfig}").stdout


@pytest.fixture(scope="module")
def installed(helm_kit: KitHandle) -> KitHandle:
    helm(helm_kit, "install", RELEASE, CHART, "--namespace", SYSTEM, "--create-namespace")
    return helm_kit


def _deployment_args(kit: KitHandle, namespace: str = SYSTEM) -> list[str]:
    body = json.loads(kit.kubectl("get", "deployment", "wasmgate-operator", "-n", namespace,
                                  "-o", "json").stdout)  # fmt: skip
    args: list[str] = body["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def _start_operator(kit: KitHandle, namespace: str, work: Path) -> tuple[OperatorProcess, int]:
    """The chart's operator as a process: its Deployment's flags, its ServiceAccount."""
    args = _deployment_args(kit, namespace)
    assert args[0] == "run"
    kept = [a for a in args[1:] if not a.startswith(POD_ONLY_FLAGS)]
    kubeconfig = service_account_kubeconfig(kit, namespace, "wasmgate-operator",
                                            work / "operator.kubeconfig")  # fmt: skip
    metrics_port = free_port()
    process = OperatorProcess(kit, work)
    process.start(
        *kept,
        f"--kubeconfig={kubeconfig}",
        f"--metrics-port={metrics_port}",
        "--metrics-address=127.0.0.1",
        f"--webhook-port={free_port()}",
        f"--webhook-cert-dir={work / 'admission'}",
        "--resync-seconds=3600",
    )
    return process, metrics_port


@pytest.fixture(scope="module")
def operator(
    installed: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OperatorProcess, int]]:
    process, metrics_port = _start_operator(installed, SYSTEM, tmp_path_factory.mktemp("helm-op"))
    try:
        yield process, metrics_port
    finally:
        process.stop()


def test_helm_install_creates_every_object_of_the_chart(installed: KitHandle) -> None:
    kit = installed
    status = json.loads(helm(kit, "status", RELEASE, "--namespace", SYSTEM, "-o", "json"))
    assert status["info"]["status"] == "deployed", status["info"]
    manifest = helm(kit, "get", "manifest", RELEASE, "--namespace", SYSTEM)
    applied = kit.run("kubectl", "get", "-f", "-", "-o", "name", input_text=manifest)
    names = applied.stdout.split()
    for expected in (
        "deployment.apps/wasmgate-operator",
        "daemonset.apps/wasmgate-agent",
        "kopfpeering.kopf.dev/wasmgate",
        "wasmtrustpolicy.wasmgate.dev/default",
        "wasmscheduler.wasmgate.dev/wasmgate-scheduler",
        "validatingadmissionpolicy.admissionregistration.k8s.io/wasmgate-operator-scheduler-pods",
    ):
        assert expected in names, names
    # Helm installs crds/ before the templates, so objects of these kinds apply in one step.
    kit.kubectl("wait", "--for=condition=Established", "crd",
                "-l", "app.kubernetes.io/part-of=wasmgate", "--timeout=60s")  # fmt: skip
    crds = kit.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=wasmgate", "-o", "name")
    assert len(crds.stdout.split()) == len(list((CHART / "crds").glob("*.yaml")))


def test_the_operator_is_ready_under_the_charts_rbac(
    installed: KitHandle, operator: tuple[OperatorProcess, int]
) -> None:
    process, port = operator
    url = f"http://127.0.0.1:{port}/readyz"

    def ready() -> str | None:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode() if response.status == 200 else None

    assert wait_for(ready, what=f"{url} to answer 200", timeout=60,
                    alive=process.check_alive) == "ok\n"  # fmt: skip
    kit = installed
    # The shared webhook CA, through the chart's Role (create, then update on that name only).
    secret = json.loads(kit.kubectl("get", "secret", "wasmgate-webhook-ca", "-n", SYSTEM,
                                    "-o", "json").stdout)  # fmt: skip
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "wasmgate"
    configuration = json.loads(kit.kubectl("get", "validatingwebhookconfiguration",
                                           "wasmgate.dev", "-o", "json").stdout)  # fmt: skip
    assert all(w["clientConfig"].get("caBundle") for w in configuration["webhooks"])
    peering = json.loads(kit.kubectl("get", "kopfpeering", "wasmgate", "-n", SYSTEM, "-o",
                                     "json").stdout)  # fmt: skip
    assert len(peering.get("status") or {}) == 1, (peering, process.log_tail())


def test_the_operator_writes_plugin_status_under_the_charts_rbac(
    installed: KitHandle, operator: tuple[OperatorProcess, int]
) -> None:
    kit, process = installed, operator[0]
    registry = of_kit(kit.kit)["oci"]
    apply(kit, {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": PLUGIN},
        "spec": {"source": {"image": f"{registry.host}/helm-e2e/missing:v1"}},
    })  # fmt: skip
    bodies = wait_plugins(kit, process, {PLUGIN: ("Resolved", "False")})
    resolved = conditions(bodies[PLUGIN])["Resolved"]
    assert resolved["reason"] == "ArtifactNotFound", resolved
    assert "helm-e2e/missing" in resolved["message"], resolved
    log = process.log_file.read_text(errors="replace")
    problems = [
        line for line in log.splitlines() if any(p in line.lower() for p in PERMISSION_PROBLEMS)
    ]
    assert problems == [], "\n".join(problems[:20])


def _replicas(kit: KitHandle) -> Any:
    body = json.loads(kit.kubectl("get", "deployment", "wasmgate-operator", "-n", SYSTEM,
                                  "-o", "json").stdout)  # fmt: skip
    return body["spec"]["replicas"]


def test_upgrade_then_uninstall(
    installed: KitHandle, operator: tuple[OperatorProcess, int]
) -> None:
    """Last in this module: it removes the release the tests above use. As docs/operations.md
    says, wasmgate's objects go first, while the operator still runs to finish them."""
    kit = installed
    helm(kit, "upgrade", RELEASE, CHART, "--namespace", SYSTEM, "--reuse-values",
         "--set", "operator.replicas=1")  # fmt: skip
    assert _replicas(kit) == 1
    history = json.loads(helm(kit, "history", RELEASE, "--namespace", SYSTEM, "-o", "json"))
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]

    kit.kubectl("delete", "wasmplugins,wasmschedulers", "--all", "--timeout=60s")
    operator[0].stop()
    helm(kit, "uninstall", RELEASE, "--namespace", SYSTEM, "--wait", "--timeout=120s")
    managed = ("-l", "app.kubernetes.io/managed-by=Helm", "-o", "name")
    left = kit.kubectl("get", "deployment,daemonset,serviceaccount,kopfpeering", "-n", SYSTEM,
                       *managed).stdout  # fmt: skip
    assert left.split() == []
    cluster_scoped = kit.kubectl("get", "clusterrole,validatingadmissionpolicy,wasmtrustpolicy",
                                 *managed).stdout  # fmt: skip
    assert cluster_scoped.split() == []
    # Helm never deletes what crds/ installed: the CRDs (and any objects of their kinds) stay.
    crds = kit.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=wasmgate", "-o", "name")
    assert "customresourcedefinition.apiextensions.k8s.io/wasmplugins.wasmgate.dev" in (
        crds.stdout.split()
    )


MOVED_NAMESPACE = "team-wasm"
MOVED_STORE = "/srv/wasm/store"


@pytest.fixture(scope="module")
def moved_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitHandle]:
    """A kit of its own for a release in another namespace (both releases would own the same
    cluster-scoped objects). No nodes: the scheduler Deployment is written and admitted, but no
    pod of it runs, so the store path is proven up to the API (the kit's real node keeps its
    store at /var/lib/wasmgate; tests/e2e/deploy/test_helm_chart.py checks the rendering)."""
    yield from _kit_without_nodes(tmp_path_factory, "helm-moved-kit")


def test_a_release_in_another_namespace_rolls_its_scheduler_out_there(
    moved_kit: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    kit = moved_kit
    values = (f"namespace={MOVED_NAMESPACE}", f"agent.storePath={MOVED_STORE}")
    helm(kit, "install", RELEASE, CHART, "--namespace", MOVED_NAMESPACE, "--create-namespace",
         *(arg for value in values for arg in ("--set", value)))  # fmt: skip
    assert {f"--scheduler-namespace={MOVED_NAMESPACE}", f"--node-store={MOVED_STORE}"} <= set(
        _deployment_args(kit, MOVED_NAMESPACE)
    )
    process, _ = _start_operator(kit, MOVED_NAMESPACE, tmp_path_factory.mktemp("helm-moved-op"))
    try:
        # The chart's WasmScheduler, rolled out by the operator under the chart's RBAC and
        # admission policy (which allow Deployments with that one hostPath in that namespace).
        def written() -> dict[str, Any]:
            found = kit.kubectl("get", "deployment", "wasmgate-scheduler", "-n", MOVED_NAMESPACE,
                                "-o", "json")  # fmt: skip
            body: dict[str, Any] = json.loads(found.stdout)
            return body

        deployment = wait_for(written, what=f"a scheduler Deployment in {MOVED_NAMESPACE}",
                              timeout=90, alive=process.check_alive)  # fmt: skip
        pod = deployment["spec"]["template"]["spec"]
        store = next(v for v in pod["volumes"] if v["name"] == "store")
        assert store["hostPath"]["path"] == MOVED_STORE
        kit.kubectl("get", "secret", "wasmgate-webhook-ca", "-n", MOVED_NAMESPACE)
        log = process.log_file.read_text(errors="replace")
        assert SYSTEM not in log, process.log_tail()
    finally:
        process.stop()
