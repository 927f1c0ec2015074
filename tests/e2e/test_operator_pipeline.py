"""The operator as a process against the kit: WasmPlugins go through resolve, verify, validate.

Plugins are pushed to the kit's registries with `wasmgate push` and with `oras push` (every
layout), signed with cosign offline (legacy and bundle), and applied with kubectl; `wasmgate run`
runs as a subprocess with the kit's admin kubeconfig. A restart must resume from status: no
registry request and an unchanged verification time for a plugin that was already verified.
Every way verification fails is in test_operator_verification_failures.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.artifacts import push_layout, wasm_bytes
from support.kit import KitHandle
from support.operator import (
    Body,
    OperatorProcess,
    apply,
    conditions,
    fingerprint,
    get,
    key_secret,
    namespace,
    plugin,
    pull_secret,
    running_operator,
    wait_log,
    wait_plugin,
    wait_plugins,
)
from support.registries import LocalRegistry, of_kit
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign, make_key

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-e2e"
KEY_SECRET = "plugin-keys"
KEYS = (NAMESPACE, KEY_SECRET)


@dataclass(frozen=True)
class Signer:
    kit: KitHandle
    key: SigningKey
    workdir: Path

    def sign(self, registry: LocalRegistry, reference: str, digest: str, fmt: str = BUNDLE) -> None:
        name = reference.rsplit(":", 1)[0]
        cosign_sign(
            self.kit.bin("cosign"), registry, f"{name}@{digest}", self.key, fmt, self.workdir
        )


@pytest.fixture(scope="module")
def registries(kit_session: KitHandle) -> dict[str, LocalRegistry]:
    return of_kit(kit_session.kit)


@pytest.fixture(scope="module")
def signer(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> Signer:
    directory = tmp_path_factory.mktemp("operator-cosign")
    key = make_key(kit_session.bin("cosign"), "p256", directory)
    namespace(kit_session, NAMESPACE)
    key_secret(kit_session, NAMESPACE, KEY_SECRET, key.public)
    return Signer(kit_session, key, directory)


@pytest.fixture(scope="module")
def operator(
    kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with running_operator(kit_session, tmp_path_factory.mktemp("operator")) as process:
        yield process


def _push(
    registry: LocalRegistry, wasm_file: Path, repository: str, *extra: str
) -> tuple[str, str]:
    """`wasmgate push` as a plugin author runs it; (reference, digest)."""
    reference = f"{registry.host}/operator-e2e/{repository}:v1"
    argv = ["push", "--plain-http", *extra, str(wasm_file), reference]
    pushed = subprocess.run(
        [sys.executable, "-m", "wasmgate", *argv], capture_output=True, text=True, check=False
    )
    assert pushed.returncode == 0, pushed.stderr
    return reference, pushed.stdout.strip()


def _signed_plugin(
    kit: KitHandle,
    signer: Signer,
    registry: LocalRegistry,
    name: str,
    wasm_file: Path,
    *push_extra: str,
    pull_secret: tuple[str, str] | None = None,
) -> str:
    """Push with `wasmgate push`, sign (bundle) and apply a plugin; its digest."""
    reference, digest = _push(registry, wasm_file, name.removeprefix("e2e-"), *push_extra)
    signer.sign(registry, reference, digest)
    plugin(kit, name, reference, KEYS, pull_secret=pull_secret)
    return digest


def _registry_requests(kit: KitHandle, repository: str) -> int:
    log = kit.state_dir / "logs" / "registry-oci.log"
    return sum(f"/v2/operator-e2e/{repository}/" in line for line in log.read_text().splitlines())


# -- every layout, both formats, both registries reach Verified=True -------------------------

LAYOUTS = {
    "wasmgate-push": "WasmArtifact",
    "oras": "OrasLayer",
    "compat": "CompatImage",
}
# The older oras media type on the older registry, the current one on the other.
ORAS_MEDIA_TYPES = {
    "oci": "application/vnd.wasm.content.layer.v1+wasm",
    "distribution": "application/vnd.module.wasm.content.layer.v1+wasm",
}
SCENARIOS = [
    (registry, layout, fmt)
    for registry in ("oci", "distribution")
    for layout in LAYOUTS
    for fmt in (LEGACY, BUNDLE)
]


def _scenario_name(registry: str, layout: str, fmt: str) -> str:
    return f"e2e-{registry}-{layout}-{fmt}"


@pytest.fixture(scope="module")
def signed_layouts(
    kit_session: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, Body]]:
    """Every scenario pushed, signed and applied at once, then waited on together."""
    work = tmp_path_factory.mktemp("layouts")
    digests: dict[str, str] = {}
    oras = kit_session.bin("oras")
    for registry_name, layout, fmt in SCENARIOS:
        name = _scenario_name(registry_name, layout, fmt)
        registry = registries[registry_name]
        scratch = work / name
        scratch.mkdir()
        data = wasm_bytes(name)
        if layout == "wasmgate-push":
            module = scratch / f"{name}.wasm"
            module.write_bytes(data)
            reference, digest = _push(registry, module, f"layouts/{name}")
        else:
            reference = f"{registry.host}/operator-e2e/layouts/{name}:v1"
            how = f"oras:{ORAS_MEDIA_TYPES[registry_name]}" if layout == "oras" else layout
            digest = push_layout(how, oras, registry, reference, data, scratch)
        signer.sign(registry, reference, digest, fmt)
        plugin(kit_session, name, reference, KEYS)
        digests[name] = digest
    bodies = wait_plugins(kit_session, operator, {n: ("Verified", "True") for n in digests})
    return {name: (digests[name], bodies[name]) for name in digests}


@pytest.mark.parametrize(
    ("registry", "layout", "fmt"), SCENARIOS, ids=["-".join(s) for s in SCENARIOS]
)
def test_every_layout_and_format_is_verified_on_both_registries(
    signed_layouts: dict[str, tuple[str, Body]],
    signer: Signer,
    registries: dict[str, LocalRegistry],
    registry: str,
    layout: str,
    fmt: str,
) -> None:
    digest, body = signed_layouts[_scenario_name(registry, layout, fmt)]
    status, verified = body["status"], conditions(body)["Verified"]

    assert verified["reason"] == "Verified"
    assert digest in verified["message"]
    assert status["digest"] == digest
    assert status["layout"] == LAYOUTS[layout]
    assert status["signature"]["keyFingerprint"] == fingerprint(signer.key.public)
    if fmt == LEGACY:
        expected = ("CosignSimpleSigning", "CosignTag")
    else:
        found_by = "ReferrersAPI" if registries[registry].supports_referrers else "ReferrersTag"
        expected = ("SigstoreBundle", found_by)
    assert (status["signature"]["format"], status["signature"]["discovery"]) == expected
    assert status["signature"]["rejected"] == []


# -- validation, restarts, trust material -----------------------------------------------------


def test_signed_plugin_is_verified_and_validated(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
) -> None:
    digest = _signed_plugin(
        kit, signer, registries["oci"], "e2e-signed", wasm_assets["filter_node_name_suffix"]
    )

    body = wait_plugin(kit, operator, "e2e-signed", "Validated", "True")
    status = body["status"]
    found = conditions(body)
    assert found["Resolved"]["status"] == "True"
    assert found["Verified"]["status"] == "True"
    assert found["Verified"]["reason"] == "Verified"
    assert status["shortDigest"] == digest.removeprefix("sha256:")[:12]
    assert status["signature"]["keyFingerprint"] == fingerprint(signer.key.public)
    assert status["validation"]["exports"] == ["filter"]
    assert [c["extensionPoint"] for c in status["validation"]["costs"]] == ["filter"]
    assert status["phase"] == "Staging"
    assert status["observedGeneration"] == body["metadata"]["generation"]
    events = json.loads(
        kit.kubectl(
            "get", "events", "-n", "default", "--field-selector",
            "involvedObject.name=e2e-signed", "-o", "json",
        ).stdout
    )  # fmt: skip
    # The first pass posts one Event for its three stages, each stage's result in its message.
    [passed] = [event for event in events["items"] if event["reason"] == "Validated"]
    assert passed["type"] == "Normal"
    stages = {c["type"]: c["message"] for c in status["conditions"]}
    assert passed["message"] == "; ".join(
        stages[name] for name in ("Resolved", "Verified", "Validated")
    )


def test_plugin_trapping_in_filter_fails_validation(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
) -> None:
    _signed_plugin(
        kit, signer, registries["oci"], "e2e-trap", wasm_assets["filter_trap_unreachable"]
    )

    body = wait_plugin(kit, operator, "e2e-trap", "Validated", "False")
    found = conditions(body)
    assert found["Verified"]["status"] == "True"
    assert found["Validated"]["reason"] == "DryRunTrapped"
    assert "filter" in found["Validated"]["message"]
    assert "unreachable" in found["Validated"]["message"]
    assert body["status"]["validation"]["exports"] == ["filter"]
    assert body["status"]["phase"] == "Failed"


def test_restart_resumes_without_registry_requests(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
) -> None:
    _signed_plugin(
        kit, signer, registries["oci"], "e2e-restart", wasm_assets["filter_node_name_suffix"]
    )
    wait_plugin(kit, operator, "e2e-restart", "Validated", "True")

    operator.stop()
    before = get(kit, "e2e-restart")
    requests_before = _registry_requests(kit, "restart")
    operator.start()
    wait_log(
        operator,
        lambda log: "WasmPlugin e2e-restart: pass ran nothing" in log,
        "the resumed pass over e2e-restart",
    )

    after = get(kit, "e2e-restart")
    assert _registry_requests(kit, "restart") == requests_before
    assert after["status"]["signature"]["verifiedAt"] == before["status"]["signature"]["verifiedAt"]
    assert conditions(after) == conditions(before)
    # The resumed pass found nothing to do and wrote nothing.
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_editing_the_key_secret_re_verifies(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    _signed_plugin(
        kit, signer, registries["oci"], "e2e-rekey", wasm_assets["filter_node_name_suffix"]
    )
    wait_plugin(kit, operator, "e2e-rekey", "Verified", "True")

    other = make_key(kit.bin("cosign"), "p256", tmp_path)
    key_secret(kit, NAMESPACE, KEY_SECRET, other.public)
    try:
        body = wait_plugin(kit, operator, "e2e-rekey", "Verified", "False")
        verified = conditions(body)["Verified"]
        assert verified["reason"] == "SignatureUntrusted"
        assert "no signature verifies with spec.verify.keys" in verified["message"]
        assert body["status"]["phase"] == "Failed"
    finally:
        key_secret(kit, NAMESPACE, KEY_SECRET, signer.key.public)
    body = wait_plugin(kit, operator, "e2e-rekey", "Verified", "True")
    assert body["status"]["signature"]["keyFingerprint"] == fingerprint(signer.key.public)


def test_a_pull_secret_gives_access_to_a_registry_behind_auth(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    registry = registries["oci-auth"]
    user, password = registry.username or "", registry.password or ""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    docker_config = tmp_path / "config.json"
    docker_config.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    pull_secret(kit, NAMESPACE, "pull-oci-auth", registry.host, user, password)
    digest = _signed_plugin(
        kit, signer, registry, "e2e-private", wasm_assets["filter_node_name_suffix"],
        f"--docker-config={docker_config}", pull_secret=(NAMESPACE, "pull-oci-auth"),
    )  # fmt: skip

    body = wait_plugin(kit, operator, "e2e-private", "Validated", "True")
    assert body["status"]["digest"] == digest
    assert body["status"]["signature"]["keyFingerprint"] == fingerprint(signer.key.public)
    assert password not in json.dumps(body)
    assert password not in operator.log_file.read_text()


def test_the_cluster_trust_policy_is_enforced_and_its_changes_re_verify(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    operator: OperatorProcess,
    signer: Signer,
    wasm_assets: dict[str, Path],
) -> None:
    _signed_plugin(
        kit, signer, registries["oci"], "e2e-policy", wasm_assets["filter_node_name_suffix"]
    )
    wait_plugin(kit, operator, "e2e-policy", "Verified", "True")

    policy = {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmTrustPolicy",
        "metadata": {"name": "e2e-elsewhere-only"},
        "spec": {"allowedRegistries": ["registry.example/**"]},
    }
    apply(kit, policy)
    try:
        body = wait_plugin(kit, operator, "e2e-policy", "Verified", "False")
        verified = conditions(body)["Verified"]
        assert verified["reason"] == "PolicyViolation"
        assert (
            "is not in WasmTrustPolicy e2e-elsewhere-only spec.allowedRegistries"
            in (verified["message"])
        )
        assert "signature" not in body["status"]
    finally:
        kit.kubectl("delete", "wasmtrustpolicy", "e2e-elsewhere-only", "--wait=true")
    body = wait_plugin(kit, operator, "e2e-policy", "Verified", "True")
    assert body["status"]["signature"]["keyFingerprint"] == fingerprint(signer.key.public)
