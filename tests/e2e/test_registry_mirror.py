"""A registry mirror serves the bytes; the original reference is what gets judged (issue 16 item 3).

A module is pushed to the kit's `oci` registry and signed there by the real cosign in both formats
(a legacy .sig tag whose payload names the `oci` repository, and a sigstore bundle referrer).
`wasmgate save` and `wasmgate load` copy it with its signatures into `distribution` under another
path, and `oci` is stopped. The operator runs with `--registry-mirror` mapping the `oci` prefix to
the copy: a WasmPlugin naming the original reference on the stopped registry is resolved, verified
and validated from the mirror; both signatures count (the legacy payload names the original
repository, which is what is judged), and status shows both references. A WasmTrustPolicy that
allows only the mirror's registry does not let the plugin through, one that allows only the
original does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.kit import KitHandle
from support.operator import (
    OperatorProcess,
    apply,
    conditions,
    fingerprint,
    install_crds,
    key_secret,
    namespace,
    plugin,
    running_operator,
    wait_plugin,
)
from support.registries import LocalRegistry, of_kit
from support.signing import BUNDLE, LEGACY, SigningKey, cosign_sign, make_key
from support.wasmgate_cli import push, wasmgate

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-e2e-mirror"
KEY_SECRET = "mirror-e2e-key"
PLUGIN = "e2e-mirrored"
POLICY = "mirror-e2e-registries"
REPOSITORY = "mirror-e2e/filter"
MIRROR_PATH = "mirrored"


def _policy(allowed: str) -> dict[str, object]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmTrustPolicy",
        "metadata": {"name": POLICY},
        "spec": {"mode": "Enforce", "allowedRegistries": [allowed]},
    }


@pytest.fixture
def key(kit: KitHandle, tmp_path: Path) -> SigningKey:
    key = make_key(kit.bin("cosign"), "p256", tmp_path / "key")
    namespace(kit, NAMESPACE)
    key_secret(kit, NAMESPACE, KEY_SECRET, key.public)
    return key


def _mirrored_copy(
    kit: KitHandle,
    source: LocalRegistry,
    mirror: LocalRegistry,
    wasm: Path,
    key: SigningKey,
    tmp_path: Path,
) -> str:
    """Push and sign on `source`, copy to `mirror` under MIRROR_PATH; the manifest digest."""
    digest = push(wasm, f"{source.host}/{REPOSITORY}:v1")
    for fmt in (LEGACY, BUNDLE):
        cosign_sign(
            kit.bin("cosign"), source, f"{source.host}/{REPOSITORY}@{digest}", key, fmt, tmp_path
        )
    bundle = tmp_path / "mirror.tar"
    saved = wasmgate("save", "--no-trusted-root", "--plain-http", source.host, "-o", bundle,
                     f"{source.host}/{REPOSITORY}:v1")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    loaded = wasmgate("load", bundle, "--to", f"{mirror.host}/{MIRROR_PATH}",
                      "--plain-http", mirror.host)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    return digest


def test_plugin_on_a_stopped_registry_passes_through_its_mirror(
    kit: KitHandle,
    stoppable_source: LocalRegistry,
    key: SigningKey,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    source, mirror = stoppable_source, of_kit(kit.kit)["distribution"]
    digest = _mirrored_copy(
        kit, source, mirror, wasm_assets["filter_node_name_suffix"], key, tmp_path
    )
    source.stop()
    install_crds(kit)
    apply(kit, _policy(f"{source.host}/mirror-e2e/**"))
    work = tmp_path / "operator"
    work.mkdir()
    mapping = f"{source.host}/mirror-e2e={mirror.host}/{MIRROR_PATH}/mirror-e2e"
    with running_operator(
        kit, work, f"--registry-mirror={mapping}", "--no-webhook", "--resync-seconds=3600"
    ) as operator:
        try:
            _mirror_serves_and_original_is_judged(kit, operator, source, mirror, key, digest)
        finally:
            # While the operator runs: it removes the plugin's finalizer.
            kit.kubectl("delete", "wasmplugin", PLUGIN, "--ignore-not-found")
            kit.kubectl("delete", "wasmtrustpolicy", POLICY, "--ignore-not-found")


def _mirror_serves_and_original_is_judged(
    kit: KitHandle,
    operator: OperatorProcess,
    source: LocalRegistry,
    mirror: LocalRegistry,
    key: SigningKey,
    digest: str,
) -> None:
    plugin(kit, PLUGIN, f"{source.host}/{REPOSITORY}:v1", (NAMESPACE, KEY_SECRET))

    body = wait_plugin(kit, operator, PLUGIN, "Validated", "True")

    status = body["status"]
    assert conditions(body)["Verified"]["status"] == "True"
    assert status["digest"] == digest
    assert status["source"] == {
        "image": f"{source.host}/{REPOSITORY}:v1@{digest}",
        "mirror": f"{mirror.host}/{MIRROR_PATH}/{REPOSITORY}:v1@{digest}",
    }
    assert status["signature"]["keyFingerprint"] == fingerprint(key.public)
    # The legacy payload names the original repository: judged for it, it counts
    # (`wasmgate verify` of the copy under its own name rejects exactly this one).
    assert status["signature"]["rejected"] == []
    assert "read from the mirror" in conditions(body)["Resolved"]["message"]
    wide = kit.kubectl("get", "wasmplugin", PLUGIN, "-o", "wide").stdout
    assert f"{mirror.host}/{MIRROR_PATH}/{REPOSITORY}:v1@{digest}" in wide

    apply(kit, _policy(f"{mirror.host}/**"))

    body = wait_plugin(kit, operator, PLUGIN, "Verified", "False")
    verified = conditions(body)["Verified"]
    assert verified["reason"] == "PolicyViolation"
    message = verified["message"]
    assert f"{source.host}/{REPOSITORY} is not in WasmTrustPolicy {POLICY}" in message


def test_operator_refuses_a_bad_mirror_flag(kit: KitHandle) -> None:
    started = wasmgate(
        "run", "--kubeconfig", kit.kubeconfig, "--no-webhook",
        "--registry-mirror", "oci.local/team=http://mirror.local/team",
    )  # fmt: skip

    assert started.returncode == 2
    assert started.stderr.startswith(
        'wasmgate run: --registry-mirror: "oci.local/team=http://mirror.local/team": the mirror '
        '"http://mirror.local/team" has a scheme; drop it'
    )
