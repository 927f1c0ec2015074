"""The admission webhook end to end: real kube-apiserver, real kubectl, and the webhook served
by the operator itself (`wasmgate run`, TLS on a loopback port) with the
ValidatingWebhookConfiguration it applies at start-up. The failure policy is shown with the
webhook unreachable (a closed port) and hung (a listener that never answers), while the operator
keeps refusing, at reconcile, a plugin that breaks an Enforce WasmTrustPolicy."""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support.kit import KitHandle
from wasmgate_admission.settings import DEFAULT_CONFIGURATION_NAME, DEFAULT_TIMEOUT_SECONDS
from wasmgate_kit.net import free_port
from wasmgate_kit.operator_command import FREE_PORT, operator_argv, wasmgate_environment
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "tests" / "assets" / "manifests"
EXAMPLES = ROOT / "docs" / "examples"
CONFIGURATION = DEFAULT_CONFIGURATION_NAME
# The smallest valid module: the registry check runs before anything looks inside it.
EMPTY_MODULE = b"\0asm\x01\0\0\0"
# kubectl apply = a GET and the write; the slack covers both on a busy machine.
SLACK_SECONDS = 3.0
RECONCILE_TIMEOUT = 120.0
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


ONLY_WEBHOOK_REFUSES = MANIFESTS / "registry_not_allowed_by_policy.yaml"


@dataclass
class Webhook:
    """The operator process (`wasmgate run`) serving the webhook, and its kit."""

    kit: KitHandle
    process: ManagedProcess

    def start(self) -> None:
        self.process.start()
        self.wait_until_it_denies()

    def wait_until_it_denies(self) -> None:
        # Denied only by the webhook (the schema admits it): once denied, kopf has discovered
        # the resources and the configuration points at the listener.
        probe = ONLY_WEBHOOK_REFUSES.read_text()
        wait_for(
            lambda: "denied the request" in _apply(self.kit, probe, "--dry-run=server")[1],
            what=f"the admission webhook to deny a manifest only it refuses ({self.log_tail()})",
            timeout=90,
            alive=self.process.check_alive,
        )

    def log_tail(self) -> str:
        lines = self.process.log_path.read_text(errors="replace").splitlines()
        return "log: " + " | ".join(lines[-5:])

    def stop(self) -> None:
        self.process.stop()

    def configuration(self) -> dict[str, Any]:
        output = self.kit.kubectl(
            "get", "validatingwebhookconfiguration", CONFIGURATION, "-o", "json"
        ).stdout
        document: dict[str, Any] = json.loads(output)
        return document

    @contextmanager
    def redirected(self, port: int) -> Iterator[None]:
        """Point every webhook of the configuration at 127.0.0.1:`port`, then back."""
        saved = [hook["clientConfig"]["url"] for hook in self.configuration()["webhooks"]]
        self._patch_urls([re.sub(r":\d+/", f":{port}/", url, count=1) for url in saved])
        try:
            yield
        finally:
            self._patch_urls(saved)
            self.wait_until_it_denies()

    def _patch_urls(self, urls: list[str]) -> None:
        patch = [
            {"op": "replace", "path": f"/webhooks/{index}/clientConfig/url", "value": url}
            for index, url in enumerate(urls)
        ]
        self.kit.kubectl(
            "patch", "validatingwebhookconfiguration", CONFIGURATION,
            "--type=json", f"-p={json.dumps(patch)}",
        )  # fmt: skip


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
    argv = operator_argv(
        kit.kubeconfig,
        plain_http=[registry.host for registry in kit.registries.values()],
        webhook_port=FREE_PORT,
        webhook_cert_dir=directory / "certs",
        extra=["--resync-seconds=3600"],
    )
    hook = Webhook(
        kit,
        ManagedProcess(
            "wasmgate-operator", argv, directory / "operator.log", env=wasmgate_environment()
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


def test_the_operator_applied_its_configuration_with_the_documented_failure_policy(
    webhook: Webhook,
) -> None:
    hooks = webhook.configuration()["webhooks"]
    assert [hook["name"] for hook in hooks] == [
        f"wasmplugins.{CONFIGURATION}",
        f"wasmschedulers.{CONFIGURATION}",
        f"wasmtrustpolicies.{CONFIGURATION}",
    ]
    assert {hook["failurePolicy"] for hook in hooks} == {"Ignore"}
    assert {hook["timeoutSeconds"] for hook in hooks} == {DEFAULT_TIMEOUT_SECONDS}
    ca = (webhook.process.log_path.parent / "certs" / "ca.pem").read_bytes()
    assert {base64.b64decode(hook["clientConfig"]["caBundle"]) for hook in hooks} == {ca}
    url = hooks[0]["clientConfig"]["url"]
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+/wasmplugin-admission", url), url


@contextmanager
def _hung_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers TLS."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@contextmanager
def _closed_port() -> Iterator[int]:
    yield free_port()


def _timed_apply(kit: KitHandle, manifest: str, *extra: str) -> tuple[int, str, float]:
    started = time.monotonic()
    code, output = _apply(kit, manifest, *extra)
    return code, output, time.monotonic() - started


@pytest.mark.parametrize(
    ("unreachable", "waits_for_timeout"),
    [(_closed_port, False), (_hung_listener, True)],
    ids=["closed_port", "hung_webhook"],
)
def test_unreachable_webhook_fails_open_within_the_timeout_and_the_schema_still_holds(
    webhook: Webhook, unreachable: Any, waits_for_timeout: bool
) -> None:
    kit = webhook.kit
    only_webhook_refuses = ONLY_WEBHOOK_REFUSES.read_text()
    schema_refuses = (MANIFESTS / "image_without_tag_or_digest.yaml").read_text()

    def admitted() -> tuple[int, str, float] | None:
        result = _timed_apply(kit, only_webhook_refuses, "--dry-run=server")
        return result if result[0] == 0 else None

    with unreachable() as port, webhook.redirected(port):
        # The apiserver picks the configuration change up from its watch within moments.
        code, output, elapsed = wait_for(
            admitted, what="failurePolicy Ignore to admit what only the webhook refuses", timeout=30
        )
        assert "created (server dry run)" in output, output
        assert elapsed < DEFAULT_TIMEOUT_SECONDS + SLACK_SECONDS, f"{elapsed:.1f} s"
        if waits_for_timeout:
            # A hung webhook costs the apiserver its whole timeoutSeconds, and no more.
            assert elapsed >= DEFAULT_TIMEOUT_SECONDS - 0.5, f"{elapsed:.1f} s"
        code, output, elapsed = _timed_apply(kit, schema_refuses, "--dry-run=server")
        assert code != 0, output
        assert "spec.source.image has no tag or digest" in output
        assert elapsed < SLACK_SECONDS, f"{elapsed:.1f} s: the schema needs no webhook"


def _push_empty_module(kit: KitHandle, directory: Path, repository: str) -> str:
    module = directory / "empty.wasm"
    module.write_bytes(EMPTY_MODULE)
    reference = f"{kit.registries['oci'].host}/admission-e2e/{repository}:v1"
    pushed = subprocess.run(
        [sys.executable, "-m", "wasmgate", "push", "--plain-http", str(module), reference],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    return reference


def test_with_the_webhook_unreachable_the_operator_still_refuses_a_policy_violation(
    webhook: Webhook, tmp_path: Path
) -> None:
    kit = webhook.kit
    image = _push_empty_module(kit, tmp_path, "outside-policy")
    plugin = _plugin("outside-enforced-policy", image=image)
    code, output = _apply(kit, plugin, "--dry-run=server")
    assert code != 0, output
    assert (
        f"spec.source.image: {image.rsplit(':', 1)[0]} is not in the registries WasmTrustPolicy "
        "admission-test-enforce allows"
    ) in output
    with webhook.redirected(free_port()):
        code, output = _apply(kit, plugin)
        assert code == 0, output
        assert "wasmplugin.wasmgate.dev/outside-enforced-policy created" in output

    def refused() -> dict[str, Any] | None:
        body = json.loads(
            kit.kubectl("get", "wasmplugin", "outside-enforced-policy", "-o", "json").stdout
        )
        conditions = {c["type"]: c for c in body.get("status", {}).get("conditions", [])}
        verified = conditions.get("Verified")
        return verified if verified and verified["status"] == "False" else None

    verified = wait_for(
        refused,
        what=f"the operator to refuse outside-enforced-policy ({webhook.log_tail()})",
        timeout=RECONCILE_TIMEOUT,
        alive=webhook.process.check_alive,
    )
    assert verified["reason"] == "PolicyViolation"
    assert (
        "is not in WasmTrustPolicy admission-test-enforce spec.allowedRegistries"
        in verified["message"]
    ), verified["message"]
    # The webhook is back: a spec change is reviewed and refused, but the object admitted while
    # it was down can still be labelled and deleted (its finalizer removed by the operator).
    code, output = _apply(kit, plugin.replace("  verify:", "  scheduler: {weight: 2}\n  verify:"))
    assert code != 0 and "admission-test-enforce allows" in output, output
    kit.kubectl("label", "wasmplugin", "outside-enforced-policy", "team=scheduling")
    kit.kubectl("delete", "wasmplugin", "outside-enforced-policy", "--timeout=60s")


def _handshake(port: int, ca_pem: str) -> str:
    """The peer certificate's subject after a TLS handshake trusting only `ca_pem`."""
    context = ssl.create_default_context(cadata=ca_pem)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.getpeercert()["subject"])


def test_replicas_share_one_ca_through_a_secret(
    webhook: Webhook, tmp_path_factory: pytest.TempPathFactory
) -> None:
    kit = webhook.kit
    name, secret = "replicas-e2e.wasmgate.dev", "wasmgate-webhook-ca-e2e"
    replicas: list[tuple[int, ManagedProcess]] = []
    for index in range(2):
        work = tmp_path_factory.mktemp(f"replica{index}")
        port = free_port()
        argv = operator_argv(
            kit.kubeconfig,
            webhook_port=port,
            webhook_cert_dir=work / "certs",
            extra=[
                f"--webhook-ca-secret=wasmgate-system/{secret}",
                f"--webhook-configuration={name}",
                "--resync-seconds=3600",
            ],
        )
        replicas.append(
            (
                port,
                ManagedProcess(
                    f"replica-{index}", argv, work / "operator.log", env=wasmgate_environment()
                ),
            )
        )
    try:
        # Started together, they race to create the Secret; the loser adopts the winner's CA.
        for _, process in replicas:
            process.start()
        for port, process in replicas:

            def answers(port: int = port) -> str | None:
                configuration = json.loads(
                    kit.kubectl("get", "validatingwebhookconfiguration", name, "-o", "json").stdout
                )
                bundle = configuration["webhooks"][0]["clientConfig"]["caBundle"]
                return _handshake(port, base64.b64decode(bundle).decode())

            wait_for(
                answers,
                what=f"replica on port {port} to answer TLS trusted by the caBundle",
                timeout=90,
                alive=process.check_alive,
            )
        stored = json.loads(
            kit.kubectl("get", "secret", secret, "-n", "wasmgate-system", "-o", "json").stdout
        )
        shared = base64.b64decode(stored["data"]["ca.pem"]).decode()
        bundle = json.loads(
            kit.kubectl("get", "validatingwebhookconfiguration", name, "-o", "json").stdout
        )["webhooks"][0]["clientConfig"]["caBundle"]
        assert base64.b64decode(bundle).decode() == shared
        # Both replicas, the first one too, serve certificates the one caBundle trusts.
        for port, _ in replicas:
            assert "127.0.0.1" in _handshake(port, shared)
    finally:
        for _, process in replicas:
            process.stop()
        kit.kubectl("delete", "validatingwebhookconfiguration", name, "--ignore-not-found")
        kit.kubectl("delete", "secret", secret, "-n", "wasmgate-system", "--ignore-not-found")
