"""The operator as a process against the kit: WasmPlugins go through resolve, verify, validate.

Plugins are built from tests/assets/wasm, pushed with `wasmgate push` to the kit's zot-like
`oci` registry, signed with cosign (offline), and applied with kubectl; `wasmgate run` runs as a
subprocess with the kit's admin kubeconfig. A restart must resume from status: no registry
request and an unchanged verification time for a plugin that was already verified.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from support.kit import KitHandle
from wasmgate.kit.net import free_port
from wasmgate.kit.wait import wait_for

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_BUILDER = REPO_ROOT / "tests" / "assets" / "wasm" / "build_assets.py"
COSIGN_PASSWORD = "operator-e2e"
OFFLINE_SIGN = ["--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y"]
NAMESPACE = "wasmgate-e2e"
KEY_SECRET = "plugin-keys"
PIPELINE_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasm_assets_builder", ASSETS_BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OperatorProcess:
    """`wasmgate run` as a child process, logging to a file, probed through its liveness URL."""

    def __init__(self, kit: KitHandle, work: Path) -> None:
        self.kit = kit
        self.work = work
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_file(self) -> Path:
        return self.work / f"operator-{self.starts}.log"

    def start(self, *extra: str) -> None:
        self.starts += 1
        port = free_port()
        liveness = f"http://127.0.0.1:{port}/healthz"
        plain = [f"--plain-http-registry={r.host}" for r in self.kit.registries.values()]
        argv = [
            sys.executable, "-m", "wasmgate", "run",
            f"--kubeconfig={self.kit.kubeconfig}",
            f"--liveness={liveness}",
            f"--validation-cache-dir={self.work / 'validation-cache'}",
            *plain,
            *(extra or ("--resync-seconds=3600",)),
        ]  # fmt: skip
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for(
            lambda: urllib.request.urlopen(liveness, timeout=2).status == 200,
            what=f"operator liveness {liveness} (log {self.log_file})",
            timeout=60,
            alive=self.check_alive,
        )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"the operator exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
def crds(kit_session: KitHandle) -> None:
    kit_session.kubectl("apply", "-f", REPO_ROOT / "crds")
    for crd in ("wasmplugins", "wasmtrustpolicies"):
        kit_session.kubectl(
            "wait", "--for=condition=Established", f"crd/{crd}.wasmgate.dev", "--timeout=60s"
        )


@pytest.fixture(scope="module")
def cosign_key(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("operator-cosign")
    kit_session.run(
        "cosign", "generate-key-pair", env={"COSIGN_PASSWORD": COSIGN_PASSWORD}, cwd=directory
    )
    _apply(kit_session, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    _key_secret(kit_session, directory / "cosign.pub")
    return directory


@pytest.fixture(scope="module")
def wasm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    builder = _builder()
    out = tmp_path_factory.mktemp("operator-wasm")
    try:
        return {
            "filter_node_name_suffix": builder.build_c("filter_node_name_suffix", out),
            "filter_trap_unreachable": builder.build_wat(
                builder.ASSET_DIR / "filter_trap_unreachable.wat", out
            ),
        }
    except builder.AssetBuildError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def operator(
    kit_session: KitHandle, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kit_session, tmp_path_factory.mktemp("operator"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _apply(kit: KitHandle, document: dict[str, Any]) -> None:
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(document))


def _key_secret(kit: KitHandle, public_key: Path) -> None:
    manifest = kit.run(
        "kubectl", "create", "secret", "generic", KEY_SECRET, "-n", NAMESPACE,
        f"--from-file=cosign.pub={public_key}", "--dry-run=client", "-o", "json",
    ).stdout  # fmt: skip
    _apply(kit, json.loads(manifest))


def _push(
    kit: KitHandle, wasm_file: Path, repository: str, registry: str = "oci", *extra: str
) -> tuple[str, str]:
    host = kit.registries[registry].host
    reference = f"{host}/operator-e2e/{repository}:v1"
    argv = ["push", "--plain-http", *extra, str(wasm_file), reference]
    pushed = subprocess.run(
        [sys.executable, "-m", "wasmgate", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    return reference, pushed.stdout.strip()


def _sign(kit: KitHandle, key_dir: Path, reference: str, digest: str, *extra: str) -> None:
    name = reference.rsplit(":", 1)[0]
    kit.run(
        "cosign", "sign", "--key", key_dir / "cosign.key", *OFFLINE_SIGN, *extra,
        f"{name}@{digest}", env={"COSIGN_PASSWORD": COSIGN_PASSWORD},
    )  # fmt: skip


def _plugin(
    kit: KitHandle,
    name: str,
    image: str,
    pull_policy: str = "IfNotPresent",
    pull_secret: str | None = None,
) -> None:
    source: dict[str, Any] = {"image": image, "pullPolicy": pull_policy}
    if pull_secret is not None:
        source["pullSecretRef"] = {"name": pull_secret, "namespace": NAMESPACE}
    _apply(
        kit,
        {
            "apiVersion": "wasmgate.dev/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": name},
            "spec": {
                "source": source,
                "verify": {"keys": [{"secretRef": {"name": KEY_SECRET, "namespace": NAMESPACE}}]},
            },
        },
    )


def _get(kit: KitHandle, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        kit.kubectl("get", "wasmplugin", name, "-o", "json").stdout
    )
    return document


def _conditions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in body.get("status", {}).get("conditions", [])}


def _wait_condition(
    kit: KitHandle, operator: OperatorProcess, name: str, type_: str, status: str
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | str:
        body = _get(kit, name)
        condition = _conditions(body).get(type_)
        if condition is not None and condition["status"] == status:
            return body
        return f"{type_}={condition}; phase={body.get('status', {}).get('phase')}"

    def settled() -> dict[str, Any] | None:
        seen = probe()
        return seen if isinstance(seen, dict) else None

    try:
        return wait_for(
            settled,
            what=f"WasmPlugin {name} {type_}={status}",
            timeout=PIPELINE_TIMEOUT,
            interval=0.5,
            alive=operator.check_alive,
        )
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast: {probe()}\noperator log:\n{operator.log_tail()}") from e


def _fingerprint(public_key: Path) -> str:
    key = serialization.load_pem_public_key(public_key.read_bytes())
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _registry_requests(kit: KitHandle, repository: str) -> int:
    log = kit.state_dir / "logs" / "registry-oci.log"
    return sum(f"/v2/operator-e2e/{repository}/" in line for line in log.read_text().splitlines())


def test_signed_plugin_is_verified_and_validated(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    reference, digest = _push(kit, wasm["filter_node_name_suffix"], "signed")
    _sign(kit, cosign_key, reference, digest)
    _plugin(kit, "e2e-signed", reference)

    body = _wait_condition(kit, operator, "e2e-signed", "Validated", "True")
    status = body["status"]
    conditions = _conditions(body)
    assert conditions["Resolved"]["status"] == "True"
    assert conditions["Verified"]["status"] == "True"
    assert conditions["Verified"]["reason"] == "Verified"
    assert digest in conditions["Verified"]["message"]
    assert status["digest"] == digest
    assert status["shortDigest"] == digest.removeprefix("sha256:")[:12]
    assert status["layout"] == "WasmArtifact"
    assert status["signature"]["keyFingerprint"] == _fingerprint(cosign_key / "cosign.pub")
    assert status["signature"]["format"] == "SigstoreBundle"
    assert status["signature"]["discovery"] == "ReferrersAPI"
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
    reasons = {event["reason"] for event in events["items"]}
    assert {"Resolved", "Verified", "Validated"} <= reasons


def test_unsigned_plugin_fails_verification_with_signature_missing(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    reference, digest = _push(kit, wasm["filter_node_name_suffix"], "unsigned")
    _plugin(kit, "e2e-unsigned", reference)

    body = _wait_condition(kit, operator, "e2e-unsigned", "Verified", "False")
    verified = _conditions(body)["Verified"]
    assert verified["reason"] == "SignatureMissing"
    assert f"{digest} is not signed" in verified["message"]
    assert "cosign sign --key" in verified["message"]
    assert body["status"]["phase"] == "Failed"
    assert "Validated" not in _conditions(body)
    assert "signature" not in body["status"]


def test_plugin_trapping_in_filter_fails_validation(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    reference, digest = _push(kit, wasm["filter_trap_unreachable"], "trap")
    _sign(kit, cosign_key, reference, digest)
    _plugin(kit, "e2e-trap", reference)

    body = _wait_condition(kit, operator, "e2e-trap", "Validated", "False")
    conditions = _conditions(body)
    assert conditions["Verified"]["status"] == "True"
    assert conditions["Validated"]["reason"] == "DryRunTrapped"
    assert "filter" in conditions["Validated"]["message"]
    assert "unreachable" in conditions["Validated"]["message"]
    assert body["status"]["validation"]["exports"] == ["filter"]
    assert body["status"]["phase"] == "Failed"


def test_restart_resumes_without_registry_requests(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    reference, digest = _push(kit, wasm["filter_node_name_suffix"], "restart")
    _sign(kit, cosign_key, reference, digest)
    _plugin(kit, "e2e-restart", reference)
    _wait_condition(kit, operator, "e2e-restart", "Validated", "True")

    operator.stop()
    before = _get(kit, "e2e-restart")
    requests_before = _registry_requests(kit, "restart")
    operator.start()
    wait_for(
        lambda: "WasmPlugin e2e-restart: pass ran nothing" in operator.log_file.read_text(),
        what=f"the resumed pass over e2e-restart in {operator.log_file}",
        timeout=PIPELINE_TIMEOUT,
        alive=operator.check_alive,
    )

    after = _get(kit, "e2e-restart")
    assert _registry_requests(kit, "restart") == requests_before
    assert after["status"]["signature"]["verifiedAt"] == before["status"]["signature"]["verifiedAt"]
    assert _conditions(after) == _conditions(before)
    # The resumed pass found nothing to do and wrote nothing.
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_editing_the_key_secret_re_verifies(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    reference, digest = _push(kit, wasm["filter_node_name_suffix"], "rekey")
    _sign(kit, cosign_key, reference, digest)
    _plugin(kit, "e2e-rekey", reference)
    _wait_condition(kit, operator, "e2e-rekey", "Verified", "True")

    kit.run("cosign", "generate-key-pair", env={"COSIGN_PASSWORD": "other"}, cwd=tmp_path)
    _key_secret(kit, tmp_path / "cosign.pub")
    try:
        body = _wait_condition(kit, operator, "e2e-rekey", "Verified", "False")
        verified = _conditions(body)["Verified"]
        assert verified["reason"] == "SignatureUntrusted"
        assert "no signature verifies with spec.verify.keys" in verified["message"]
        assert body["status"]["phase"] == "Failed"
    finally:
        _key_secret(kit, cosign_key / "cosign.pub")
    body = _wait_condition(kit, operator, "e2e-rekey", "Verified", "True")
    assert body["status"]["signature"]["keyFingerprint"] == _fingerprint(cosign_key / "cosign.pub")


def test_a_pull_secret_gives_access_to_a_registry_behind_auth(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    registry = kit.registries["oci-auth"]
    user, password = registry.username or "", registry.password or ""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    docker_config = tmp_path / "config.json"
    docker_config.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    reference, digest = _push(
        kit, wasm["filter_node_name_suffix"], "private", "oci-auth",
        f"--docker-config={docker_config}",
    )  # fmt: skip
    _sign(
        kit, cosign_key, reference, digest,
        # `=` keeps a generated password that starts with "-" from reading as a flag.
        f"--registry-username={user}", f"--registry-password={password}",
    )  # fmt: skip
    secret = kit.run(
        "kubectl", "create", "secret", "docker-registry", "pull-oci-auth", "-n", NAMESPACE,
        f"--docker-server={registry.host}", f"--docker-username={user}",
        f"--docker-password={password}", "--dry-run=client", "-o", "json",
    ).stdout  # fmt: skip
    _apply(kit, json.loads(secret))
    _plugin(kit, "e2e-private", reference, pull_secret="pull-oci-auth")

    body = _wait_condition(kit, operator, "e2e-private", "Validated", "True")
    assert body["status"]["digest"] == digest
    assert body["status"]["signature"]["keyFingerprint"] == _fingerprint(cosign_key / "cosign.pub")
    assert password not in json.dumps(body)
    assert password not in operator.log_file.read_text()


def test_an_unreachable_registry_is_retried_not_a_verification_failure(
    kit: KitHandle, operator: OperatorProcess
) -> None:
    image = f"127.0.0.1:{free_port()}/operator-e2e/down:v1"
    _plugin(kit, "e2e-down", image)

    body = _wait_condition(kit, operator, "e2e-down", "Resolved", "Unknown")
    resolved = _conditions(body)["Resolved"]
    assert resolved["reason"] == "RegistryUnavailable"
    assert "127.0.0.1" in resolved["message"]
    assert body["status"]["phase"] == "Resolving"
    assert "Verified" not in _conditions(body)
    # Retried with backoff (5 s, then 10 s): the pass runs resolve again.
    wait_for(
        lambda: operator.log_file.read_text().count("WasmPlugin e2e-down: pass ran resolve;") >= 2,
        what="a second resolve of e2e-down after the backoff",
        timeout=PIPELINE_TIMEOUT,
        alive=operator.check_alive,
    )
    assert _conditions(_get(kit, "e2e-down"))["Resolved"]["reason"] == "RegistryUnavailable"


def test_the_cluster_trust_policy_is_enforced_and_its_changes_re_verify(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    reference, digest = _push(kit, wasm["filter_node_name_suffix"], "policy")
    _sign(kit, cosign_key, reference, digest)
    _plugin(kit, "e2e-policy", reference)
    _wait_condition(kit, operator, "e2e-policy", "Verified", "True")

    policy = {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmTrustPolicy",
        "metadata": {"name": "e2e-elsewhere-only"},
        "spec": {"allowedRegistries": ["registry.example/**"]},
    }
    _apply(kit, policy)
    try:
        body = _wait_condition(kit, operator, "e2e-policy", "Verified", "False")
        verified = _conditions(body)["Verified"]
        assert verified["reason"] == "PolicyViolation"
        assert (
            "is not in WasmTrustPolicy e2e-elsewhere-only spec.allowedRegistries"
            in (verified["message"])
        )
        assert "signature" not in body["status"]
    finally:
        kit.kubectl("delete", "wasmtrustpolicy", "e2e-elsewhere-only", "--wait=true")
    body = _wait_condition(kit, operator, "e2e-policy", "Verified", "True")
    assert body["status"]["signature"]["keyFingerprint"] == _fingerprint(cosign_key / "cosign.pub")


def test_a_moved_tag_is_a_new_digest_verified_anew(
    kit: KitHandle, operator: OperatorProcess, cosign_key: Path, wasm: dict[str, Path]
) -> None:
    # Last in this module: it leaves the operator running with a short resync interval.
    operator.stop()
    operator.start("--resync-seconds=3")
    reference, first = _push(kit, wasm["filter_node_name_suffix"], "moving")
    _sign(kit, cosign_key, reference, first)
    _plugin(kit, "e2e-moving", reference, pull_policy="Always")
    _wait_condition(kit, operator, "e2e-moving", "Verified", "True")

    _, moved = _push(kit, wasm["filter_trap_unreachable"], "moving")
    assert moved != first
    body = _wait_condition(kit, operator, "e2e-moving", "Verified", "False")
    assert body["status"]["digest"] == moved
    verified = _conditions(body)["Verified"]
    assert verified["reason"] == "SignatureMissing"
    assert f"{moved} is not signed" in verified["message"]
    assert body["status"]["phase"] == "Failed"
