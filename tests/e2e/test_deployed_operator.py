"""`wasmgate run` with the deploy/ RBAC and flags: it does its work with no more than it is granted.

The operator runs as a process (there is no container engine here) but authenticates as the
wasmgate-operator ServiceAccount, with a token from the TokenRequest API, and with the flags of
deploy/operator/deployment.yaml that change what it touches: `--namespace=wasmgate-system`,
`--peering=wasmgate`, `--namespace-for-events=wasmgate-system`, `--metrics-port`. A signed
plugin goes through resolve, verify and validate; a plugin whose key Secret lives in another
namespace is refused with a message saying where Secrets must be; and /metrics shows every
stage counted.
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
    key_secret,
    namespace,
    plugin,
    service_account_kubeconfig,
    wait_plugins,
)
from support.registries import of_kit
from support.signing import BUNDLE, cosign_sign, make_key
from support.wasmgate_cli import push
from wasmgate.rollout.names import LABEL_SCHEDULER
from wasmgate.rollout.rbac import SCHEDULER_SERVICE_ACCOUNT
from wasmgate_kit.net import free_port
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
SYSTEM = "wasmgate-system"
ELSEWHERE = "wasmgate-deploy-elsewhere"
KEY_SECRET = "deploy-e2e-key"
SIGNED, KEY_ELSEWHERE = "deploy-e2e-signed", "deploy-e2e-key-elsewhere"
# kopf.OperatorSettings().peering.lifetime, seconds a keep-alive counts.
KOPF_PEERING_LIFETIME = 60
# kopf logs APIForbiddenError and "Not enough permissions"; the API says "... is forbidden".
PERMISSION_PROBLEMS = ("forbidden", "not enough permissions")


def _install(kit: KitHandle) -> None:
    kit.kubectl("apply", "--server-side", "--force-conflicts", "-k", DEPLOY / "crds")
    kit.kubectl("wait", "--for=condition=Established", "crd",
                "-l", "app.kubernetes.io/part-of=wasmgate", "--timeout=60s")  # fmt: skip
    for name in ("agent/namespace.yaml", "operator/rbac.yaml", "operator/admission-policy.yaml",
                 "scheduler/rbac.yaml", "operator/kopf-peering.yaml"):  # fmt: skip
        kit.kubectl("apply", "-f", DEPLOY / name)


def _push_signed(kit: KitHandle, wasm_file: Path, repository: str, work: Path) -> str:
    registry = of_kit(kit.kit)["oci"]
    reference = f"{registry.host}/deploy-e2e/{repository}:v1"
    digest = push(wasm_file, reference)
    key = make_key(kit.bin("cosign"), "p256", work / "key")
    cosign_sign(kit.bin("cosign"), registry, f"{reference.rsplit(':', 1)[0]}@{digest}", key,
                BUNDLE, work / "key")  # fmt: skip
    for where in (SYSTEM, ELSEWHERE):
        key_secret(kit, where, KEY_SECRET, key.public)
    return reference


@pytest.fixture(scope="module")
def deployed(
    kit_session: KitHandle,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KitHandle, OperatorProcess, int]]:
    kit = kit_session
    work = tmp_path_factory.mktemp("deployed-operator")
    _install(kit)
    namespace(kit, ELSEWHERE)
    reference = _push_signed(kit, wasm_assets["filter_node_name_suffix"], "filter", work)
    kubeconfig = service_account_kubeconfig(
        kit, SYSTEM, "wasmgate-operator", work / "operator.kubeconfig"
    )
    metrics_port = free_port()
    operator = OperatorProcess(kit, work)
    operator.start(
        f"--kubeconfig={kubeconfig}",
        f"--namespace={SYSTEM}",
        "--peering=wasmgate",
        f"--namespace-for-events={SYSTEM}",
        f"--metrics-port={metrics_port}",
        "--metrics-address=127.0.0.1",
        f"--webhook-port={free_port()}",
        "--resync-seconds=3600",
    )
    plugin(kit, SIGNED, reference, (SYSTEM, KEY_SECRET))
    plugin(kit, KEY_ELSEWHERE, reference, (ELSEWHERE, KEY_SECRET))
    try:
        yield kit, operator, metrics_port
    finally:
        operator.stop()
        for name in (SIGNED, KEY_ELSEWHERE):
            kit.kubectl("delete", "wasmplugin", name, "--ignore-not-found", "--wait=false")
        kit.kubectl("delete", "validatingwebhookconfiguration", "wasmgate.dev",
                    "--ignore-not-found")  # fmt: skip


def _settled(
    deployed: tuple[KitHandle, OperatorProcess, int],
) -> dict[str, dict[str, Any]]:
    kit, operator, _ = deployed
    return wait_plugins(kit, operator, {
        SIGNED: ("Validated", "True"), KEY_ELSEWHERE: ("Verified", "False")})  # fmt: skip


def test_a_signed_plugin_is_validated_under_the_deploy_rbac(
    deployed: tuple[KitHandle, OperatorProcess, int],
) -> None:
    bodies = _settled(deployed)
    signed = conditions(bodies[SIGNED])
    assert (signed["Resolved"]["status"], signed["Verified"]["status"]) == ("True", "True")
    log = deployed[1].log_file.read_text(errors="replace")
    problems = [
        line for line in log.splitlines() if any(p in line.lower() for p in PERMISSION_PROBLEMS)
    ]
    assert problems == [], "\n".join(problems[:20])


def test_a_key_secret_outside_wasmgate_system_is_refused(
    deployed: tuple[KitHandle, OperatorProcess, int],
) -> None:
    verified = conditions(_settled(deployed)[KEY_ELSEWHERE])["Verified"]
    assert verified["reason"] == "InvalidSpec", verified
    assert f"Secret {ELSEWHERE}/{KEY_SECRET}: the operator may not read it" in verified["message"]


def test_the_replica_keeps_its_peering_alive(
    deployed: tuple[KitHandle, OperatorProcess, int],
) -> None:
    kit = deployed[0]
    body = json.loads(kit.kubectl("get", "kopfpeering", "wasmgate", "-n", SYSTEM, "-o",
                                  "json").stdout)  # fmt: skip
    peers = body.get("status") or {}
    assert len(peers) == 1, (body, deployed[1].log_tail())
    assert next(iter(peers.values()))["lifetime"] == KOPF_PEERING_LIFETIME


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("wasmgate_"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


@pytest.mark.parametrize(
    "series",
    [
        'wasmgate_stage_runs_total{reason="Resolved",result="success",stage="resolve"}',
        'wasmgate_stage_runs_total{reason="Verified",result="success",stage="verify"}',
        'wasmgate_stage_runs_total{reason="Validated",result="success",stage="validate"}',
        'wasmgate_stage_runs_total{reason="InvalidSpec",result="failed",stage="verify"}',
        'wasmgate_verifications_total{reason="Verified",result="verified"}',
        "wasmgate_fetch_bytes_total",
        'wasmgate_validations_total{cached="false",reason="Validated",verdict="pass"}',
        "wasmgate_validation_fuel_count",
    ],
    ids=["resolve", "verify", "validate", "verify-refused", "verification", "fetch-bytes",
         "validation", "validation-cost"],
)  # fmt: skip
def test_metrics_count_every_stage(
    deployed: tuple[KitHandle, OperatorProcess, int], series: str
) -> None:
    _settled(deployed)
    samples = _metrics(deployed[2])
    assert samples.get(series, 0) > 0, sorted(k for k in samples if k.startswith(series[:20]))
    reconciles = sum(v for k, v in samples.items() if k.startswith("wasmgate_reconciles_total"))
    assert reconciles > 0


def test_the_replica_reports_ready(deployed: tuple[KitHandle, OperatorProcess, int]) -> None:
    url = f"http://127.0.0.1:{deployed[2]}/readyz"

    def ready() -> str | None:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode() if response.status == 200 else None

    assert wait_for(ready, what=f"{url} to answer 200", timeout=30) == "ok\n"


def test_a_scheduler_rolls_out_under_the_deploy_rbac(
    deployed: tuple[KitHandle, OperatorProcess, int],
) -> None:
    """The operator creates no RBAC: the scheduler Deployment it renders runs as the account
    deploy/scheduler/rbac.yaml installs, and the ReplicaSet can create its pods. The pods ask
    for a node label nobody has, so they stay Pending: the point is that they exist."""
    kit, operator, _ = deployed
    name = "deploy-e2e-scheduler"
    apply(kit, {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmScheduler",
        "metadata": {"name": name},
        "spec": {
            "image": "registry.k8s.io/kube-scheduler-wasm-extension:v0.1.0",
            "replicas": 1,
            "nodeSelector": {"wasmgate.dev/deploy-e2e-no-such-node": "true"},
        },
    })  # fmt: skip
    try:

        def pod_accounts() -> list[str] | None:
            selector = f"{LABEL_SCHEDULER}={name}"
            pods = kit.kubectl("get", "pods", "-n", SYSTEM, "-l", selector, "-o", "json")
            listed = json.loads(pods.stdout)
            accounts = [pod["spec"]["serviceAccountName"] for pod in listed["items"]]
            return accounts or None

        accounts = wait_for(pod_accounts, what=f"a pod of WasmScheduler {name}", timeout=90,
                            alive=operator.check_alive)  # fmt: skip
        assert accounts == [SCHEDULER_SERVICE_ACCOUNT]
        log = operator.log_file.read_text(errors="replace")
        problems = [
            line for line in log.splitlines() if any(p in line.lower() for p in PERMISSION_PROBLEMS)
        ]
        assert problems == [], "\n".join(problems[:20])
    finally:
        kit.kubectl("delete", "wasmscheduler", name, "--ignore-not-found", "--wait=false")
