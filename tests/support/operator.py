"""The operator as a child process against the kit, and WasmPlugins as its e2e tests handle them.

`wasmgate run` runs exactly as an administrator would start it locally (the kit's admin
kubeconfig, the kit's registries allowed over plain HTTP). Plugins are applied with kubectl and
read back as JSON; waits go through `wasmgate_kit.wait.wait_for` and, on timeout, show what every
plugin last looked like and the operator's log tail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from support.kit import KitHandle
from wasmgate_kit.net import free_port
from wasmgate_kit.wait import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 20.0
PIPELINE_TIMEOUT = 120.0

Body = dict[str, Any]


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


@contextlib.contextmanager
def running_operator(kit: KitHandle, work: Path, *extra: str) -> Iterator[OperatorProcess]:
    """The CRDs installed and one operator running for the block; stopped after it."""
    install_crds(kit)
    process = OperatorProcess(kit, work)
    process.start(*extra)
    try:
        yield process
    finally:
        process.stop()


def service_account_kubeconfig(kit: KitHandle, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as ServiceAccount `namespace/account` (a 1 h token from the
    TokenRequest API), so a process run by a test holds exactly what that account is granted."""
    admin = yaml.safe_load(kit.kubeconfig.read_text())
    token = kit.kubectl("create", "token", account, "-n", namespace,
                        "--duration=1h").stdout.strip()  # fmt: skip
    user = f"system:serviceaccount:{namespace}:{account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {
            "cluster": admin["clusters"][0]["name"], "user": user}}],
        "current-context": account,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def install_crds(kit: KitHandle) -> None:
    # Server-side: other e2e modules apply the same CRDs the same way in one session.
    kit.kubectl("apply", "--server-side", "--force-conflicts", "-k", REPO_ROOT / "crds")
    for crd in ("wasmplugins", "wasmtrustpolicies"):
        kit.kubectl(
            "wait", "--for=condition=Established", f"crd/{crd}.wasmgate.dev", "--timeout=60s"
        )


def apply(kit: KitHandle, document: dict[str, Any]) -> None:
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(document))


def namespace(kit: KitHandle, name: str) -> None:
    apply(kit, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def key_secret(kit: KitHandle, namespace: str, name: str, public_key: Path) -> None:
    """A Secret holding one PEM public key, as plugin authors create it."""
    manifest = kit.run(
        "kubectl", "create", "secret", "generic", name, "-n", namespace,
        f"--from-file=cosign.pub={public_key}", "--dry-run=client", "-o", "json",
    ).stdout  # fmt: skip
    apply(kit, json.loads(manifest))


def pull_secret(
    kit: KitHandle, namespace: str, name: str, host: str, user: str, password: str
) -> None:
    """A kubernetes.io/dockerconfigjson Secret, as `kubectl create secret docker-registry` makes."""
    manifest = kit.run(
        "kubectl", "create", "secret", "docker-registry", name, "-n", namespace,
        f"--docker-server={host}", f"--docker-username={user}",
        f"--docker-password={password}", "--dry-run=client", "-o", "json",
    ).stdout  # fmt: skip
    apply(kit, json.loads(manifest))


def plugin(
    kit: KitHandle,
    name: str,
    image: str,
    keys: tuple[str, str],
    pull_policy: str = "IfNotPresent",
    pull_secret: tuple[str, str] | None = None,
) -> None:
    """Apply a WasmPlugin verified with the key Secret `keys` (namespace, name)."""
    source: dict[str, Any] = {"image": image, "pullPolicy": pull_policy}
    if pull_secret is not None:
        source["pullSecretRef"] = {"namespace": pull_secret[0], "name": pull_secret[1]}
    secret_ref = {"namespace": keys[0], "name": keys[1]}
    apply(
        kit,
        {
            "apiVersion": "wasmgate.dev/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": name},
            "spec": {"source": source, "verify": {"keys": [{"secretRef": secret_ref}]}},
        },
    )


def get(kit: KitHandle, name: str) -> Body:
    document: Body = json.loads(kit.kubectl("get", "wasmplugin", name, "-o", "json").stdout)
    return document


def conditions(body: Body) -> dict[str, Body]:
    return {c["type"]: c for c in body.get("status", {}).get("conditions", [])}


def _summary(body: Body) -> str:
    seen = {t: (c["status"], c.get("reason")) for t, c in conditions(body).items()}
    return f"phase={body.get('status', {}).get('phase')} conditions={seen}"


def wait_plugins(
    kit: KitHandle,
    operator: OperatorProcess,
    expected: dict[str, tuple[str, str]],
    timeout: float = PIPELINE_TIMEOUT,
) -> dict[str, Body]:
    """Wait until every named plugin has its (condition type, status); one list per round."""

    def observe() -> dict[str, Body]:
        listed = json.loads(kit.kubectl("get", "wasmplugins", "-o", "json").stdout)
        return {item["metadata"]["name"]: item for item in listed["items"]}

    def settled(bodies: dict[str, Body], name: str) -> bool:
        type_, status = expected[name]
        condition = conditions(bodies.get(name, {})).get(type_)
        return condition is not None and condition["status"] == status

    def probe() -> dict[str, Body] | None:
        bodies = observe()
        return bodies if all(settled(bodies, name) for name in expected) else None

    try:
        return wait_for(
            probe,
            what=f"{len(expected)} WasmPlugins to reach their conditions",
            timeout=timeout,
            interval=0.5,
            alive=operator.check_alive,
        )
    except AssertionError as e:
        bodies = observe()
        waiting = {
            f"{name} (want {'='.join(expected[name])})": _summary(bodies.get(name, {}))
            for name in expected
            if not settled(bodies, name)
        }
        raise AssertionError(
            f"{e}\nstill waiting: {json.dumps(waiting, indent=1)}\n"
            f"operator log:\n{operator.log_tail()}"
        ) from e


def wait_plugin(
    kit: KitHandle, operator: OperatorProcess, name: str, type_: str, status: str
) -> Body:
    return wait_plugins(kit, operator, {name: (type_, status)})[name]


def wait_log(operator: OperatorProcess, has: Callable[[str], bool], what: str) -> None:
    wait_for(
        lambda: has(operator.log_file.read_text()),
        what=f"{what} in {operator.log_file}",
        timeout=PIPELINE_TIMEOUT,
        alive=operator.check_alive,
    )


def fingerprint(public_key: Path) -> str:
    """status.signature.keyFingerprint of a PEM key: sha256 of its DER SubjectPublicKeyInfo."""
    key = serialization.load_pem_public_key(public_key.read_bytes())
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()
