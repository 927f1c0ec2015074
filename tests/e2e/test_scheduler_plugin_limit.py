"""One plugin too many for a WasmScheduler, on the kit: refused at admission, and when it slips
past (webhook away), reported in status and an Event while the other 64 roll out.

The plugins share one signed artifact (validation is cached by digest, one layer to stage), so
the test measures the limit, not the pipeline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.kit import KitHandle
from support.operator import apply, key_secret
from support.registries import of_kit
from support.signing import make_key, push_signed
from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmscheduler import MAX_SCHEDULER_PLUGINS
from wasmgate_admission.settings import DEFAULT_CONFIGURATION_NAME
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.real_node import RealNode
from wasmgate_kit.real_schedulers import scheduler_spec
from wasmgate_kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE, start_wasmgate
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

SCHEDULER = "limit-e2e"
KEY_SECRET = "limit-e2e-key"
TIMEOUT = 240.0
Body = dict[str, Any]
# Sorts before every lp-NNN: admitted last, it must still not evict a running plugin.
LATECOMER = "a-late"


def _names() -> list[str]:
    return [f"lp-{index:03}" for index in range(MAX_SCHEDULER_PLUGINS)]


def _plugin(name: str, image: str) -> Body:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {
            "source": {"image": image},
            "verify": {
                "keys": [{"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": KEY_SECRET}}]
            },
            "scheduler": {"schedulers": [SCHEDULER]},
        },
    }


def _condition(body: Body, type_: str) -> Body:
    found = [c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == type_]
    return found[0] if found else {}


class Limit:
    """The kit with wasmgate running, one signed image, and helpers."""

    def __init__(self, kit: KitHandle, api: client.ApiClient, image: str) -> None:
        self.kit, self.api, self.image = kit, api, image
        self.custom = client.CustomObjectsApi(api)

    def plugins(self) -> dict[str, Body]:
        listed = self.custom.list_cluster_custom_object(GROUP, VERSION, "wasmplugins")
        return {item["metadata"]["name"]: item for item in listed["items"]}

    def scheduler(self) -> Body:
        body: Body = self.custom.get_cluster_custom_object(
            GROUP, VERSION, "wasmschedulers", SCHEDULER
        )
        return body

    def wait(self, what: str, probe: Any, operator: ManagedProcess) -> Any:
        try:
            return wait_for(probe, what=what, timeout=TIMEOUT, interval=1.0)
        except AssertionError as e:
            status = json.dumps(self.scheduler().get("status"), indent=1)[:4000]
            raise AssertionError(f"{e}\nscheduler: {status}\n{operator.log_tail(40)}") from e

    def rolled_out(self, names: list[str]) -> dict[str, Body] | None:
        bodies = self.plugins()
        done = all(
            _condition(bodies.get(n, {}), "RolledOut").get("status") == "True" for n in names
        )
        return bodies if done else None

    def scheduler_events(self) -> list[tuple[str, str, str]]:
        events = client.CoreV1Api(self.api).list_event_for_all_namespaces(
            field_selector=f"involvedObject.kind=WasmScheduler,involvedObject.name={SCHEDULER}"
        )
        return [(str(e.type), str(e.reason), str(e.message)) for e in events.items]


@pytest.fixture(scope="module")
def running(
    kit_session: KitHandle,
    real_node: RealNode,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Limit, ManagedProcess]]:
    kit = kit_session
    work = tmp_path_factory.mktemp("limit-e2e")
    processes = start_wasmgate(kit.kit)
    operator = next(p for p in processes if p.name == OPERATOR_PROCESS)
    try:
        key = make_key(kit.bin("cosign"), "p256", work / "key")
        key_secret(kit, SYSTEM_NAMESPACE, KEY_SECRET, key.public)
        registry = of_kit(kit.kit)["oci"]
        module = work / "filter.wasm"
        module.write_bytes(wasm_assets["filter_node_name_suffix"].read_bytes())
        image = f"{registry.host}/limit-e2e/filter:v1"
        push_signed(kit.bin("cosign"), registry, module, image, key, work)
        apply(kit, {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmScheduler",
            "metadata": {"name": SCHEDULER},
            "spec": scheduler_spec(kit.kit),
        })  # fmt: skip
        with kit.api_client() as api:
            yield Limit(kit, api, image), operator
    finally:
        try:
            for name in [LATECOMER, *_names()]:
                kit.kubectl("delete", "wasmplugin", name, "--ignore-not-found", "--wait=false")
            kit.kubectl("delete", "wasmplugins", "--all", "--timeout=120s")
            kit.kubectl("delete", "wasmscheduler", SCHEDULER, "--ignore-not-found")
        finally:
            for process in reversed(processes):
                process.stop()


def test_one_plugin_too_many_is_refused_then_reported_when_it_slips_past(
    running: tuple[Limit, ManagedProcess],
) -> None:
    limit, operator = running
    names = _names()
    apply(limit.kit, {"apiVersion": "v1", "kind": "List",
                      "items": [_plugin(name, limit.image) for name in names]})  # fmt: skip
    limit.wait(f"{len(names)} plugins rolled out", lambda: limit.rolled_out(names), operator)

    # 1. Admission: the 65th is refused, naming the scheduler, the limit and the fix.
    with pytest.raises(ApiException) as refused:
        limit.custom.create_cluster_custom_object(
            GROUP, VERSION, "wasmplugins", _plugin(LATECOMER, limit.image)
        )
    assert refused.value.status == 422
    message = json.loads(refused.value.body)["message"]
    assert (
        f"spec.scheduler.schedulers[0]: WasmScheduler {SCHEDULER} already loads 64 WasmPlugins, "
        "the most one scheduler may (64); name another WasmScheduler here"
    ) in message, message

    # 2. The webhook is away: the 65th slips past. The operator keeps the 64 that run.
    admission = client.AdmissionregistrationV1Api(limit.api)
    saved = limit.api.sanitize_for_serialization(
        admission.read_validating_webhook_configuration(DEFAULT_CONFIGURATION_NAME)
    )
    admission.delete_validating_webhook_configuration(DEFAULT_CONFIGURATION_NAME)
    try:
        # The apiserver drops a deleted webhook configuration from its cache a moment later;
        # until then the webhook still answers (the 2026-12-05 CI rehearsal met that window).
        deadline = time.monotonic() + 30.0
        while True:
            try:
                limit.custom.create_cluster_custom_object(
                    GROUP, VERSION, "wasmplugins", _plugin(LATECOMER, limit.image)
                )
                break
            except ApiException as e:
                if e.status != 422 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        saved["metadata"] = {"name": DEFAULT_CONFIGURATION_NAME,
                             "labels": saved["metadata"].get("labels") or {}}  # fmt: skip
        admission.create_validating_webhook_configuration(saved)

    def left_out() -> Body | None:
        plugin = limit.plugins().get(LATECOMER, {})
        rolled = _condition(plugin, "RolledOut")
        return rolled if rolled.get("reason") == "PluginLimitExceeded" else None

    rolled = limit.wait(f"{LATECOMER} left out", left_out, operator)
    assert rolled["status"] == "False"
    assert rolled["message"].startswith(
        f"not loaded: WasmScheduler {SCHEDULER} already loads 64 plugins, the most one scheduler "
        "may; name another WasmScheduler in spec.scheduler.schedulers"
    ), rolled["message"]
    status = limit.scheduler()["status"]
    rendered = _condition({"status": status}, "ConfigRendered")
    assert (rendered["status"], rendered["reason"]) == ("False", "PluginLimitExceeded")
    assert f"left out: {LATECOMER} " in rendered["message"], rendered["message"]
    assert sorted(p["name"] for p in status["plugins"]) == names
    assert _condition({"status": status}, "RolledOut")["status"] == "True"
    warned = limit.wait(
        "a PluginLimitExceeded Event on the WasmScheduler",
        lambda: [e for e in limit.scheduler_events() if e[1] == "PluginLimitExceeded"] or None,
        operator,
    )
    assert warned[0][0] == "Warning" and LATECOMER in warned[0][2]
    # No exception loop: the daemon never failed a pass. Only this operator's run counts: the
    # kit's operator log also holds earlier modules' runs (one restarts the apiserver on purpose).
    log = operator.log_path.read_text()
    assert "pass failed" not in log[log.rfind("--- starting:") :]

    # 3. Room again: the latecomer goes in at the next pass, with no restart.
    limit.kit.kubectl("delete", "wasmplugin", names[0], "--timeout=60s")
    limit.wait(f"{LATECOMER} rolled out", lambda: limit.rolled_out([LATECOMER]), operator)
    rendered = _condition(limit.scheduler(), "ConfigRendered")
    assert (rendered["status"], rendered["reason"]) == ("True", "Rendered")
