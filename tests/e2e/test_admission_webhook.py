"""The admission webhook end to end: real kube-apiserver, real kubectl, the webhook as a kopf
process serving TLS on loopback with the ValidatingWebhookConfiguration it applies itself."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support.kit import KitHandle
from wasmgate.kit.net import free_port
from wasmgate.kit.process import ManagedProcess
from wasmgate.kit.wait import wait_for
from wasmgate_admission.standalone import webhook_process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "tests" / "assets" / "manifests"
EXAMPLES = ROOT / "docs" / "examples"
CONFIGURATION = "admission-e2e.wasmgate.dev"
ENFORCE_POLICY = """
apiVersion: wasmgate.dev/v1alpha1
kind: WasmTrustPolicy
metadata: {name: admission-test-enforce}
spec:
  mode: Enforce
  allowedRegistries: ["registry.example.com/**"]
"""
WARN_POLICY = """
apiVersion: wasmgate.dev/v1alpha1
kind: WasmTrustPolicy
metadata: {name: admission-test-warn}
spec:
  mode: Warn
  allowedRegistries: ["registry.example.com/platform/*"]
"""

SIGNED = "  verify:\n    keys:\n      - secretRef: {name: admission-test-key, namespace: default}\n"


def _plugin(
    name: str, image: str = "registry.example.com/scheduling/plugin:v1", extra: str = ""
) -> str:
    return (
        f"apiVersion: wasmgate.dev/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: {name}}}\n"
        f"spec:\n  source:\n    image: {image}\n{SIGNED}{extra}"
    )


def _pem_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return public, private


def _secret(name: str, namespace: str, data: dict[str, bytes], kind: str = "Opaque") -> str:
    entries = "".join(
        f"  {key}: {base64.b64encode(value).decode()}\n" for key, value in data.items()
    )
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"type: {kind}\ndata:\n{entries}"
    )


def _apply(kit: KitHandle, manifest: str, *extra: str) -> tuple[int, str]:
    result = kit.run("kubectl", "apply", *extra, "-f", "-", input_text=manifest, check=False)
    return result.returncode, result.stdout + result.stderr


@dataclass
class Webhook:
    kit: KitHandle
    process: ManagedProcess

    def start(self) -> None:
        self.process.start()
        # Denied only by the webhook (the schema admits it): once denied, kopf has discovered
        # the resources and the configuration points at the listener.
        probe = (MANIFESTS / "registry_not_allowed_by_policy.yaml").read_text()
        wait_for(
            lambda: "denied the request" in _apply(self.kit, probe, "--dry-run=server")[1],
            what="the admission webhook to deny a manifest only it refuses",
            timeout=90,
            alive=self.process.check_alive,
        )

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture(scope="module")
def webhook(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    kit = kit_session
    kit.kubectl("apply", "--server-side", "-k", ROOT / "crds")
    for crd in ("wasmplugins", "wasmschedulers", "wasmtrustpolicies"):
        kit.kubectl("wait", "--for=condition=Established", f"crd/{crd}.wasmgate.dev")
    public, private = _pem_pair()
    kit.run("kubectl", "create", "namespace", "wasmgate-system", check=False)
    setup = [
        _secret("admission-test-key", "default", {"cosign.pub": public}),
        _secret("admission-test-private-key", "default", {"cosign.pub": private}),
        _secret("scheduling-team-cosign", "wasmgate-system", {"cosign.pub": public}),
        _secret(
            "registry-example-com",
            "wasmgate-system",
            {".dockerconfigjson": b'{"auths":{"registry.example.com":{"auth":"dTpw"}}}'},
            kind="kubernetes.io/dockerconfigjson",
        ),
        ENFORCE_POLICY,
        WARN_POLICY,
    ]
    for manifest in setup:
        code, output = _apply(kit, manifest)
        assert code == 0, output
    directory = tmp_path_factory.mktemp("admission")
    hook = Webhook(
        kit,
        webhook_process(
            kubeconfig=kit.kubeconfig,
            port=free_port(),
            cert_dir=directory / "certs",
            log_path=directory / "webhook.log",
            configuration_name=CONFIGURATION,
        ),
    )
    hook.start()
    try:
        yield hook
    finally:
        hook.stop()
        kit.kubectl("delete", "validatingwebhookconfiguration", CONFIGURATION, "--wait=false")
        kit.kubectl("delete", "wasmtrustpolicy", "admission-test-enforce", "admission-test-warn")
        kit.kubectl("delete", "wasmplugins", "--all", "--wait=false")


def _expected(path: Path) -> list[str]:
    return [
        line.removeprefix("# expect: ").strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect: ")
    ]


BAD_MANIFESTS = sorted(MANIFESTS.glob("*.yaml"))


def test_the_bad_manifest_table_is_large_enough() -> None:
    assert len(BAD_MANIFESTS) >= 20
    assert all(_expected(path) for path in BAD_MANIFESTS), "every manifest says what to expect"


@pytest.mark.parametrize("path", BAD_MANIFESTS, ids=[p.stem for p in BAD_MANIFESTS])
def test_bad_manifest_is_rejected_with_a_message_naming_field_and_fix(
    webhook: Webhook, path: Path
) -> None:
    code, output = _apply(webhook.kit, path.read_text(encoding="utf-8"))
    assert code != 0, f"{path.name} was admitted:\n{output}"
    for expected in _expected(path):
        assert expected in output, f"{path.name}: {expected!r} not in:\n{output}"


def test_example_plugin_is_accepted_and_shown_with_columns(webhook: Webhook) -> None:
    kit = webhook.kit
    code, output = _apply(kit, (EXAMPLES / "wasmplugin.yaml").read_text())
    assert code == 0, output
    assert "wasmplugin.wasmgate.dev/spread-by-zone created" in output or "configured" in output
    listing = kit.kubectl("get", "wasmplugins").stdout
    header = listing.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "VERIFIED", "STAGED", "DIGEST", "AGE"], listing
    assert "spread-by-zone" in listing
    category = kit.kubectl("get", "wasmgate").stdout
    assert "wasmplugin.wasmgate.dev/spread-by-zone" in category
    assert "wasmtrustpolicy.wasmgate.dev/admission-test-enforce" in category


def test_explain_prints_the_image_description(webhook: Webhook) -> None:
    text = webhook.kit.kubectl("explain", "wasmplugin.spec.source.image").stdout
    assert "FIELD: image <string>" in text or "FIELD:    image <string>" in text, text
    assert "OCI reference of the plugin artifact, with a tag or a digest" in text


def test_warn_mode_policy_admits_with_warning_lines(webhook: Webhook) -> None:
    plugin = _plugin("warned-plugin")
    code, output = _apply(webhook.kit, plugin)
    assert code == 0, output
    assert re.search(
        r"^Warning: WasmTrustPolicy admission-test-warn \(mode Warn\) would refuse: "
        r"spec.source.image: registry.example.com/scheduling/plugin is not in the registries",
        output,
        re.MULTILINE,
    ), output
    assert "wasmplugin.wasmgate.dev/warned-plugin created" in output


def test_missing_scheduler_is_a_warning(webhook: Webhook) -> None:
    plugin = _plugin(
        "waits-for-scheduler", extra="  scheduler:\n    schedulers: [not-created-yet]\n"
    )
    code, output = _apply(webhook.kit, plugin)
    assert code == 0, output
    assert (
        "Warning: spec.scheduler.schedulers[0]: WasmScheduler not-created-yet does not exist yet"
        in output
    )


def test_deleting_a_scheduler_in_use_is_refused_with_the_plugins(webhook: Webhook) -> None:
    kit = webhook.kit
    scheduler = (
        (EXAMPLES / "wasmscheduler.yaml")
        .read_text()
        .replace("name: wasmgate-scheduler", "name: admission-scheduler")
    )
    code, output = _apply(kit, scheduler)
    assert code == 0, output
    for name in ("user-b", "user-a"):
        plugin = _plugin(name, extra="  scheduler:\n    schedulers: [admission-scheduler]\n")
        code, output = _apply(kit, plugin)
        assert code == 0, output
    refused = kit.kubectl("delete", "wasmscheduler", "admission-scheduler", check=False)
    assert refused.returncode != 0
    assert (
        "WasmScheduler admission-scheduler is still used by WasmPlugins user-a, user-b; remove "
        "admission-scheduler from their spec.scheduler.schedulers (or delete them) first"
    ) in refused.stderr
    kit.kubectl("delete", "wasmplugin", "user-a", "user-b")
    kit.kubectl("delete", "wasmscheduler", "admission-scheduler")


def test_source_change_warns_that_verification_restarts(webhook: Webhook) -> None:
    base = _plugin("changes-source")
    code, output = _apply(webhook.kit, base)
    assert code == 0, output
    code, output = _apply(webhook.kit, base.replace("plugin:v1", "plugin:v2"))
    assert code == 0, output
    assert "Warning: spec.source changed: wasmgate resolves, verifies and validates" in output


def test_unreachable_webhook_fails_open_and_the_schema_still_holds(webhook: Webhook) -> None:
    kit = webhook.kit
    webhook.stop()
    try:
        only_webhook_refuses = (MANIFESTS / "registry_not_allowed_by_policy.yaml").read_text()
        code, output = _apply(kit, only_webhook_refuses, "--dry-run=server")
        assert code == 0, f"failurePolicy Ignore should admit while the webhook is down:\n{output}"
        schema_refuses = (MANIFESTS / "image_without_tag_or_digest.yaml").read_text()
        code, output = _apply(kit, schema_refuses, "--dry-run=server")
        assert code != 0
        assert "spec.source.image has no tag or digest" in output
    finally:
        webhook.start()
