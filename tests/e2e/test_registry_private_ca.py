"""A registry serving TLS from a private CA, trusted only through `--registry-ca-configmap`, and
reached through an HTTPS proxy (issue 16 item 2).

Debian's docker-registry serves TLS with a certificate of a throwaway CA, under its own TLS
support (no proxy in front). A module is pushed to the kit's plain `distribution` registry,
signed there by the real cosign (a sigstore bundle: it names the digest, no repository) and
copied with its signature into the TLS registry (`wasmgate save`, `wasmgate load --ca-file`).
The operator, run against the kit's apiserver, does not know the CA: the plugin stays unresolved
(Resolved Unknown, retried) with OpenSSL's reason and the fix in its condition. Given a ConfigMap
holding the CA under the registry's key, and `--https-proxy` naming a local CONNECT proxy, the
same plugin is resolved, verified and validated through the proxy's tunnels, while a plugin on
169.254.169.254 is refused (Resolved False, InvalidSpec) before any CONNECT. A ConfigMap that
is missing or holds no PEM stops `wasmgate run` naming the object, key and fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import local_registries
from support.connect_proxy import ConnectProxy, connect_proxy
from support.kit import KitHandle
from support.operator import (
    conditions,
    fingerprint,
    key_secret,
    namespace,
    plugin,
    running_operator,
    wait_plugin,
    wait_plugins,
)
from support.registries import LocalRegistry, of_kit
from support.signing import BUNDLE, cosign_sign, make_key
from support.wasmgate_cli import push, wasmgate

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-e2e-private-ca"
KEY_SECRET = "private-ca-e2e-key"
CONFIGMAP = "registry-ca"
PLUGIN = "e2e-private-ca"
METADATA_PLUGIN = "e2e-private-ca-metadata"
REPOSITORY = "private-ca-e2e/filter"


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """docker-registry on loopback serving TLS from a fresh private CA."""
    root = tmp_path / "tls-registry"
    root.mkdir()
    ca = local_registries.TestCA.create(root)
    registry = local_registries.distribution_registry(root, "tls", tls=ca.server_cert(root))
    registry.ca_file = ca.cert_file
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with connect_proxy() as running:
        yield running


def _configmap(kit: KitHandle, data: dict[str, str]) -> None:
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE}, "data": data,
    }))  # fmt: skip


def test_plugin_on_a_private_ca_registry_passes_only_with_the_ca_configmap(
    kit: KitHandle,
    tls_registry: LocalRegistry,
    proxy: ConnectProxy,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
) -> None:
    assert tls_registry.ca_file is not None
    namespace(kit, NAMESPACE)
    key = make_key(kit.bin("cosign"), "p256", tmp_path / "key")
    key_secret(kit, NAMESPACE, KEY_SECRET, key.public)
    plain = of_kit(kit.kit)["distribution"]
    digest = push(wasm_assets["filter_node_name_suffix"], f"{plain.host}/{REPOSITORY}:v1")
    cosign_sign(kit.bin("cosign"), plain, f"{plain.host}/{REPOSITORY}@{digest}", key, BUNDLE,
                tmp_path)  # fmt: skip
    bundle = tmp_path / "copy.tar"
    saved = wasmgate("save", "--no-trusted-root", "--plain-http", plain.host, "-o", bundle,
                     f"{plain.host}/{REPOSITORY}:v1")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    loaded = wasmgate("load", bundle, "--to", tls_registry.host,
                      "--ca-file", f"{tls_registry.host}={tls_registry.ca_file}")  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    image = f"{tls_registry.host}/{REPOSITORY}:v1"
    work = tmp_path / "operator"
    work.mkdir()
    try:
        with running_operator(kit, work, "--no-webhook", "--resync-seconds=3600") as op:
            plugin(kit, PLUGIN, image, (NAMESPACE, KEY_SECRET))
            body = wait_plugin(kit, op, PLUGIN, "Resolved", "Unknown")
            resolved = conditions(body)["Resolved"]
            assert resolved["reason"] == "RegistryUnavailable"
            assert (
                f"TLS with {tls_registry.host} failed (certificate verify failed: unable to get "
                "local issuer certificate); if the registry uses a private CA, give its bundle"
            ) in resolved["message"]
            assert "--registry-ca-configmap" in resolved["message"]
            kit.kubectl("delete", "wasmplugin", PLUGIN)

        port = tls_registry.host.rsplit(":", 1)[1]
        _configmap(kit, {f"127.0.0.1_{port}.crt": tls_registry.ca_file.read_text()})
        flags = (f"--registry-ca-configmap={NAMESPACE}/{CONFIGMAP}", f"--https-proxy={proxy.url}")
        with running_operator(kit, work, "--no-webhook", "--resync-seconds=3600", *flags) as op:
            plugin(kit, PLUGIN, image, (NAMESPACE, KEY_SECRET))
            plugin(kit, METADATA_PLUGIN, "169.254.169.254/latest/meta-data:v1",
                   (NAMESPACE, KEY_SECRET))  # fmt: skip
            bodies = wait_plugins(
                kit, op, {PLUGIN: ("Validated", "True"), METADATA_PLUGIN: ("Resolved", "False")}
            )
            body = bodies[PLUGIN]
            assert conditions(body)["Verified"]["status"] == "True"
            assert body["status"]["digest"] == digest
            assert body["status"]["signature"]["keyFingerprint"] == fingerprint(key.public)
            refused = conditions(bodies[METADATA_PLUGIN])["Resolved"]
            assert refused["reason"] == "InvalidSpec"
            assert (
                "169.254.169.254 resolves to 169.254.169.254, which is in blocked network "
                "169.254.0.0/16 (judged before the proxy's CONNECT)"
            ) in refused["message"]
            # The registry was reached through the proxy, only by tunnels, never the metadata
            # address.
            assert proxy.targets and set(proxy.targets) == {tls_registry.host}
            assert all(line.startswith("CONNECT ") for line in proxy.request_lines)
            kit.kubectl("delete", "wasmplugin", PLUGIN, METADATA_PLUGIN)
    finally:
        kit.kubectl("delete", "wasmplugin", PLUGIN, METADATA_PLUGIN, "--ignore-not-found",
                    "--wait=false")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            None,
            f"wasmgate run: --registry-ca-configmap: ConfigMap {NAMESPACE}/absent does not "
            "exist; create it, e.g. kubectl create configmap",
            id="missing",
        ),
        pytest.param(
            {"ca.crt": "not a certificate"},
            f"wasmgate run: --registry-ca-configmap: ConfigMap {NAMESPACE}/{CONFIGMAP} key "
            '"ca.crt" is not a PEM certificate bundle',
            id="not-pem",
        ),
    ],
)
def test_operator_refuses_an_unusable_ca_configmap(
    kit: KitHandle, data: dict[str, str] | None, message: str
) -> None:
    namespace(kit, NAMESPACE)
    if data is not None:
        _configmap(kit, data)
    name = CONFIGMAP if data is not None else "absent"
    started = wasmgate(
        "run", "--kubeconfig", kit.kubeconfig, "--no-webhook",
        f"--registry-ca-configmap={NAMESPACE}/{name}",
    )  # fmt: skip

    assert started.returncode == 2, started.stderr
    assert started.stderr.startswith(message), started.stderr
