"""Every test plugin gets its expected verdict from the operator: condition reason and message.

All plugins are pushed with `wasmgate push` and applied at once to the kit running `wasmgate
run`; each must end with the Validated condition the library gives the same bytes (the table in
support/wasm_assets.py). They are unsigned: a WasmTrustPolicy with `signatureRequired: false`
lets the verify stage through, so the test is about validation only. The module over the size
cap is stopped earlier, by design: spec.source.maxSize is checked when the tag is resolved
(ArtifactTooLarge on Resolved), before any byte is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.kit import KitHandle
from support.operator import OperatorProcess, apply, conditions, running_operator, wait_plugins
from support.wasm_assets import ASSET_VERDICTS, padded_module
from support.wasmgate_cli import push

pytestmark = pytest.mark.e2e

POLICY = "e2e-validation-unsigned"
OVERSIZED = "module_over_the_size_cap"
MIN_MAX_SIZE = 1024
# `wasmgate push` refuses bytes without the wasm header; an author can still publish them with
# oras (a single-layer artifact, design §3 layout 2), and the operator must refuse them then.
ORAS_PUSHED = {"not_wasm": "application/vnd.wasm.content.layer.v1+wasm"}
VALIDATION_TIMEOUT = 300.0


@pytest.fixture(scope="module")
def unsigned_operator(
    kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator, with a cluster policy that lets unsigned plugins through verification."""
    work = tmp_path_factory.mktemp("operator-verdicts")
    with running_operator(kit_session, work) as process:
        apply(
            kit_session,
            {
                "apiVersion": "wasmgate.dev/v1alpha1",
                "kind": "WasmTrustPolicy",
                "metadata": {"name": POLICY},
                "spec": {"signatureRequired": False, "mode": "Enforce"},
            },
        )
        try:
            yield process
        finally:
            kit_session.kubectl("delete", "wasmtrustpolicy", POLICY, "--ignore-not-found")


def _plugin_name(asset: str) -> str:
    return "verdict-" + asset.replace("_", "-")


def _plugin(name: str, image: str, max_size: int | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"image": image}
    if max_size is not None:
        source["maxSize"] = max_size
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {"source": source},
    }


def test_every_asset_gets_its_verdict_reason_and_message_from_the_operator(
    kit: KitHandle,
    unsigned_operator: OperatorProcess,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    host = kit.registries["oci"].host
    oversized = tmp_path / f"{OVERSIZED}.wasm"
    oversized.write_bytes(padded_module(MIN_MAX_SIZE + 1))
    modules = {**{asset: wasm_assets[asset] for asset, *_ in ASSET_VERDICTS}, OVERSIZED: oversized}
    digests, plugins = {}, []
    for asset, module in modules.items():
        reference = f"{host}/operator-verdicts/{asset.replace('_', '-')}:v1"
        if asset in ORAS_PUSHED:
            kit.run(
                "oras", "push", "--plain-http", reference,
                f"{module.name}:{ORAS_PUSHED[asset]}", cwd=module.parent,
            )  # fmt: skip
        else:
            digests[asset] = push(module, reference)
        size = MIN_MAX_SIZE if asset == OVERSIZED else None
        plugins.append(_plugin(_plugin_name(asset), reference, size))

    apply(kit, {"apiVersion": "v1", "kind": "List", "items": plugins})
    expected = {
        asset: ("Validated", "True" if verdict == "pass" else "False", reason or "Validated")
        for asset, verdict, reason, _ in ASSET_VERDICTS
    }
    expected[OVERSIZED] = ("Resolved", "False", "ArtifactTooLarge")
    bodies = wait_plugins(
        kit,
        unsigned_operator,
        {_plugin_name(asset): (type_, status) for asset, (type_, status, _) in expected.items()},
        timeout=VALIDATION_TIMEOUT,
    )

    seen = {}
    for asset, (type_, _, _) in expected.items():
        condition = conditions(bodies[_plugin_name(asset)])[type_]
        seen[asset] = (type_, condition["status"], condition["reason"])
    assert seen == expected
    missing = {}
    for asset, verdict, _, fragments in ASSET_VERDICTS:
        body = bodies[_plugin_name(asset)]
        message = conditions(body)["Validated"]["message"]
        if verdict == "pass":
            fragments = [f"{digests[asset]}: exports ", "passed within spec.limits"]
            assert body["status"]["validation"]["costs"], asset
        absent = [f for f in fragments if f not in message]
        if absent:
            missing[asset] = (absent, message)
    assert missing == {}
    resolved = conditions(bodies[_plugin_name(OVERSIZED)])["Resolved"]["message"]
    assert f"the wasm layer is {MIN_MAX_SIZE + 1} bytes; the cap is {MIN_MAX_SIZE}" in resolved
    assert "Validated" not in conditions(bodies[_plugin_name(OVERSIZED)])
