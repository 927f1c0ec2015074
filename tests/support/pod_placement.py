"""Place pods through a wasm scheduler and check the rule the sample plugins apply.

The sample filter plugins pick a node by the last digit of the pod's name (or avoid it), so a
test creates pods whose names end with a node's digit, waits until the scheduler has bound every
one, and reads which node each landed on.
"""

from __future__ import annotations

from kubernetes import client

from wasmgate.runner.kube_json import as_json
from wasmgate_kit.wait import wait_for

PODS_NAMESPACE = "default"
APP_IMAGE = "registry.example/app:v1"


def place_pods(
    api: client.ApiClient, scheduler: str, names: list[str], timeout: float = 60.0
) -> dict[str, str]:
    """Create the pods for `scheduler`; pod name -> node once all are bound; deletes them."""
    core = client.CoreV1Api(api)
    for name in names:
        containers = [{"name": "app", "image": APP_IMAGE}]
        pod = {
            "metadata": {"name": name},
            "spec": {"schedulerName": scheduler, "containers": containers},
        }
        core.create_namespaced_pod(PODS_NAMESPACE, client.V1Pod.model_validate(pod))

    def bound() -> dict[str, str] | None:
        placed = {}
        for name in names:
            pod = as_json(api, core.read_namespaced_pod(name, PODS_NAMESPACE))
            if not pod["spec"].get("nodeName"):
                return None
            placed[name] = pod["spec"]["nodeName"]
        return placed

    try:
        placed: dict[str, str] = wait_for(bound, what=f"pods {names} bound", timeout=timeout)
        return placed
    finally:
        for name in names:
            core.delete_namespaced_pod(name, PODS_NAMESPACE, grace_period_seconds=0)


def digit_names(prefix: str, count: int, nodes: int) -> list[str]:
    """Pod names each ending with the digit of one of `nodes` nodes."""
    return [f"{prefix}-{index}-{index % nodes}" for index in range(count)]


def digit_rule_broken(placed: dict[str, str]) -> dict[str, str]:
    """Pods NOT on the node ending with their last digit."""
    return {pod: node for pod, node in placed.items() if node[-1] != pod[-1]}


def inverted_rule_broken(placed: dict[str, str]) -> dict[str, str]:
    """Pods on the node ending with their last digit."""
    return {pod: node for pod, node in placed.items() if node[-1] == pod[-1]}
