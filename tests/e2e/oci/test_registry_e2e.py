"""Resolve, fetch and push against real registries: go-containerregistry's and docker-registry."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.artifacts import (
    ORAS_MEDIA_TYPES,
    compat_layer,
    credentials_for,
    push_cncf,
    push_compat,
    push_layout,
    run_oras,
    settings_for,
    wasm_bytes,
)
from support.local_registries import Registries, distribution_registry
from support.registries import LocalRegistry
from wasmgate.errors import (
    ArtifactInvalid,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
    InvalidSpec,
    RegistryAuthFailed,
    RegistryUnavailable,
    WasmgateError,
)
from wasmgate.oci import (
    Credential,
    Credentials,
    Layout,
    RegistryClient,
    RegistrySettings,
    fetch_layer,
    parse_dockerconfigjson,
    push_wasm,
    resolve,
)
from wasmgate.oci.transport import Transport

pytestmark = pytest.mark.e2e


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _token_settings(registries: Registries, registry: LocalRegistry) -> RegistrySettings:
    realm_host = registries.token_server.realm.split("/")[2]
    return RegistrySettings(plain_http=frozenset({registry.host, realm_host}))


LAYOUTS = ["cncf", *[f"oras:{m}" for m in ORAS_MEDIA_TYPES], "compat"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["oci", "distribution-auth"])
def test_every_layout_resolves_and_fetches_verified_bytes(
    registries: Registries, oras_bin: Path, tmp_path: Path, name: str, layout: str
) -> None:
    registry = registries[name]
    data = wasm_bytes(f"{name}-{layout}")
    ref = (
        f"{registry.host}/layouts/{layout.replace(':', '-').replace('/', '-').replace('+', '-')}:v1"
    )
    digest = push_layout(layout, oras_bin, registry, ref, data, tmp_path)

    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    fetched = fetch_layer(
        resolved, tmp_path / "store" / "x.wasm", settings_for(registry), credentials_for(registry)
    )

    assert resolved.digest == digest
    assert resolved.reference.tag == "v1"
    assert resolved.layout is {"cncf": Layout.CNCF, "compat": Layout.COMPAT}.get(
        layout, Layout.ORAS
    )
    assert fetched.path.read_bytes() == data
    assert fetched.wasm_digest == _sha(data)
    assert fetched.size == len(data)
    if layout == "compat":
        assert fetched.layer_digest != fetched.wasm_digest
    else:
        assert fetched.layer_digest == resolved.layer_digest == _sha(data)
    assert sorted(p.name for p in fetched.path.parent.iterdir()) == ["x.wasm"]


def test_wasmgate_push_cli_writes_the_cncf_layout_oras_understands(
    registries: Registries, oras_bin: Path, tmp_path: Path
) -> None:
    registry = registries["oci-auth"]
    data = wasm_bytes("cli")
    (tmp_path / "filter.wasm").write_bytes(data)
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_bytes(registry.dockerconfig())
    ref = f"{registry.host}/cli/filter:v1"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmgate",
            "push",
            str(tmp_path / "filter.wasm"),
            ref,
            "--plain-http",
            "--docker-config",
            str(config),
            "--annotation",
            "org.opencontainers.image.source=https://example.test/filter",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    digest = done.stdout.strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    assert f"cosign sign --key cosign.key {registry.host}/cli/filter@{digest}" in done.stderr

    manifest = json.loads(run_oras(oras_bin, registry, "manifest", "fetch", ref, cwd=tmp_path))
    assert manifest["config"]["mediaType"] == "application/vnd.wasm.config.v0+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/wasm"]
    assert manifest["layers"][0]["annotations"] == {"org.opencontainers.image.title": "filter.wasm"}
    assert (
        manifest["annotations"]["org.opencontainers.image.source"] == "https://example.test/filter"
    )
    assert "org.opencontainers.image.created" in manifest["annotations"]
    config_blob = json.loads(
        run_oras(
            oras_bin,
            registry,
            "blob",
            "fetch",
            "--output",
            "-",
            f"{registry.host}/cli/filter@{manifest['config']['digest']}",
            cwd=tmp_path,
        )
    )
    assert config_blob["architecture"] == "wasm" and config_blob["os"] == "wasip1"
    assert config_blob["layerDigests"] == [_sha(data)]
    pulled = tmp_path / "pulled"
    run_oras(oras_bin, registry, "pull", "-o", str(pulled), ref, cwd=tmp_path)
    assert (pulled / "filter.wasm").read_bytes() == data


def test_wasmgate_push_cli_reports_errors_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("not wasm")
    done = subprocess.run(
        [sys.executable, "-m", "wasmgate", "push", str(tmp_path / "x.txt"), "127.0.0.1:1/a:v1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "InvalidSpec" in done.stderr and "not a WebAssembly binary" in done.stderr
    assert done.stdout == ""


def test_bearer_token_flow_with_docker_registry(registries: Registries, tmp_path: Path) -> None:
    registry = registries["distribution-token"]
    settings = _token_settings(registries, registry)
    creds = parse_dockerconfigjson(registry.dockerconfig())
    data = wasm_bytes("token")
    (tmp_path / "p.wasm").write_bytes(data)
    digest = push_wasm(tmp_path / "p.wasm", f"{registry.host}/tok/p:v1", settings, creds)
    resolved = resolve(f"{registry.host}/tok/p:v1", settings, creds)
    fetched = fetch_layer(resolved, tmp_path / "out.wasm", settings, creds)

    assert resolved.digest == digest
    assert fetched.path.read_bytes() == data
    scopes = [s for r in registries.token_server.requests for s in r.get("scope", [])]
    assert "repository:tok/p:pull,push" in scopes and "repository:tok/p:pull" in scopes


def test_identity_token_and_registry_token_flows(registries: Registries, tmp_path: Path) -> None:
    registry = registries["distribution-token"]
    settings = _token_settings(registries, registry)
    login = parse_dockerconfigjson(registry.dockerconfig())
    data = wasm_bytes("identity-token")
    (tmp_path / "p.wasm").write_bytes(data)
    digest = push_wasm(tmp_path / "p.wasm", f"{registry.host}/tok/id:v1", settings, login)
    refresh = Credentials({registry.host: Credential(identity_token=registry.password or "")})
    bearer = registries.token_server.token(["repository:tok/id:pull"])
    given = Credentials({registry.host: Credential(registry_token=bearer)})
    wrong = Credentials({registry.host: Credential(identity_token="stale")})

    by_refresh = resolve(f"{registry.host}/tok/id:v1", settings, refresh)
    by_token = resolve(f"{registry.host}/tok/id:v1", settings, given)
    with pytest.raises(RegistryAuthFailed) as refused:
        resolve(f"{registry.host}/tok/id:v1", settings, wrong)

    assert by_refresh.digest == by_token.digest == digest
    assert any(r.get("grant_type") == ["refresh_token"] for r in registries.token_server.requests)
    assert "the token server of" in refused.value.message and "stale" not in refused.value.message


@pytest.mark.parametrize("name", ["oci-auth", "distribution-auth", "distribution-token"])
def test_wrong_or_missing_credentials_are_auth_failures(
    registries: Registries, tmp_path: Path, name: str
) -> None:
    registry = registries[name]
    settings = _token_settings(registries, registry)
    ref = f"{registry.host}/auth/p:v1"
    wrong = parse_dockerconfigjson(registry.dockerconfig(password="not-the-password"))

    with pytest.raises(RegistryAuthFailed) as refused:
        resolve(ref, settings, wrong)
    with pytest.raises(RegistryAuthFailed) as anonymous:
        resolve(ref, settings, None)

    assert refused.value.reason == "RegistryAuthFailed" and refused.value.permanent
    assert "refused" in refused.value.message and "pull secret" in refused.value.message
    assert "not-the-password" not in refused.value.message
    assert "spec.source.pullSecretRef" in anonymous.value.message


@pytest.mark.parametrize("name", ["oci", "distribution"])
def test_unknown_tag_is_not_found(registries: Registries, name: str) -> None:
    registry = registries[name]
    with pytest.raises(ArtifactNotFound) as error:
        resolve(f"{registry.host}/nothing/here:v1", settings_for(registry))
    assert error.value.reason == "ArtifactNotFound"
    assert f"{registry.host}/nothing/here:v1" in error.value.message


@pytest.mark.parametrize(
    ("name", "error_type", "message"),
    [
        # docker-registry serves whatever its storage holds; our running hash must catch it.
        ("distribution", DigestMismatch, "the registry's copy is corrupt or was tampered with"),
        # go-containerregistry re-hashes a blob before serving it and answers 404 on a mismatch.
        ("oci", ArtifactNotFound, "the manifest names a blob the registry lacks"),
    ],
    ids=["serves-tampered-bytes", "refuses-tampered-bytes"],
)
def test_tampered_layer_blob_is_refused_and_nothing_is_written(
    registries: Registries,
    tmp_path: Path,
    name: str,
    error_type: type[WasmgateError],
    message: str,
) -> None:
    registry = registries[name]
    data = wasm_bytes(f"tamper-{name}")
    ref = f"{registry.host}/tamper/p:v1"
    push_cncf(registry, ref, data, tmp_path)
    resolved = resolve(ref, settings_for(registry))
    registry.blob_path(resolved.layer_digest).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    destination = tmp_path / "store" / "p.wasm"

    with pytest.raises(error_type) as error:
        fetch_layer(resolved, destination, settings_for(registry))

    assert error.value.reason == error_type.reason
    assert resolved.layer_digest in error.value.message and message in error.value.message
    assert not destination.exists()
    assert not destination.parent.exists() or list(destination.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "declared_delta", "error_type", "message"),
    [
        ("oci", -1, ArtifactTooLarge, "the registry sent more than the"),
        ("oci", +1, DigestMismatch, "bytes, the manifest declares"),
        ("distribution", -1, ArtifactTooLarge, "the registry sent more than the"),
        ("distribution", +1, DigestMismatch, "bytes, the manifest declares"),
    ],
    ids=[
        "oci-declares-less",
        "oci-declares-more",
        "distribution-declares-less",
        "distribution-declares-more",
    ],
)
def test_layer_size_in_the_manifest_is_enforced_while_streaming(
    registries: Registries,
    tmp_path: Path,
    name: str,
    declared_delta: int,
    error_type: type[WasmgateError],
    message: str,
) -> None:
    registry = registries[name]
    data = wasm_bytes(f"size-{name}-{declared_delta}", padding=3 << 20)
    settings = settings_for(registry)
    with RegistryClient(registry.host, settings) as client:
        layer = client.put_blob("sizes/p", data)
        config = client.put_blob("sizes/p", b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.wasm.config.v0+json",
                "digest": config.digest,
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/wasm",
                    "digest": layer.digest,
                    "size": len(data) + declared_delta,
                }
            ],
        }
        client.put_manifest("sizes/p", "v1", json.dumps(manifest).encode(), manifest["mediaType"])
    resolved = resolve(f"{registry.host}/sizes/p:v1", settings)

    with pytest.raises(error_type) as error:
        fetch_layer(resolved, tmp_path / "store" / "p.wasm", settings)

    assert message in error.value.message
    assert list((tmp_path / "store").iterdir()) == []


def test_caps_on_manifest_size_layer_count_and_blob_size(
    registries: Registries, oras_bin: Path, tmp_path: Path
) -> None:
    registry = registries["oci"]
    data = wasm_bytes("caps", padding=4096)
    ref = f"{registry.host}/caps/p:v1"
    push_cncf(registry, ref, data, tmp_path)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    run_oras(
        oras_bin, registry, "push", f"{registry.host}/caps/two:v1", "a.txt", "b.txt", cwd=tmp_path
    )

    with pytest.raises(ArtifactTooLarge) as manifest:
        resolve(ref, settings_for(registry, max_manifest_bytes=100))
    with pytest.raises(ArtifactTooLarge) as layers:
        resolve(f"{registry.host}/caps/two:v1", settings_for(registry, max_layers=1))
    with pytest.raises(ArtifactTooLarge) as blob:
        resolve(ref, settings_for(registry, max_blob_bytes=1024))

    assert "the cap is 100" in manifest.value.message
    assert "manifest.layers lists 2 entries; the cap is 1" in layers.value.message
    assert f"the wasm layer is {len(data)} bytes; the cap is 1024" in blob.value.message


def test_compat_layer_that_inflates_past_the_cap_is_refused(
    registries: Registries, oras_bin: Path, tmp_path: Path
) -> None:
    registry = registries["oci"]
    data = wasm_bytes("bomb", padding=2_000_000)
    ref = f"{registry.host}/caps/bomb:v1"
    push_compat(oras_bin, registry, ref, data, tmp_path)
    settings = settings_for(registry, max_blob_bytes=1_000_000)
    resolved = resolve(ref, settings)
    assert resolved.size < 1_000_000

    with pytest.raises(ArtifactTooLarge) as error:
        fetch_layer(resolved, tmp_path / "out" / "bomb.wasm", settings)

    assert "plugin.wasm: more than 1000000 bytes" in error.value.message
    assert list((tmp_path / "out").iterdir()) == []


def test_compat_image_without_plugin_wasm_is_invalid(
    registries: Registries, oras_bin: Path, tmp_path: Path
) -> None:
    registry = registries["distribution"]
    ref = f"{registry.host}/compat/missing:v1"
    push_compat(oras_bin, registry, ref, wasm_bytes("m"), tmp_path, member="filter.wasm")
    resolved = resolve(ref, settings_for(registry))

    with pytest.raises(ArtifactInvalid) as error:
        fetch_layer(resolved, tmp_path / "out.wasm", settings_for(registry))

    assert "has no plugin.wasm at its root" in error.value.message
    assert compat_layer(b"x")  # the helper itself builds a gzip tar


def test_digest_pin_catches_a_moved_tag(registries: Registries, tmp_path: Path) -> None:
    registry = registries["distribution"]
    ref = f"{registry.host}/moved/p:v1"
    first = push_cncf(registry, ref, wasm_bytes("first"), tmp_path)
    second = push_cncf(registry, ref, wasm_bytes("second"), tmp_path)

    pinned = resolve(f"{registry.host}/moved/p@{first}", settings_for(registry))
    with pytest.raises(DigestMismatch) as error:
        resolve(ref, settings_for(registry), pinned_digest=first)

    assert pinned.digest == first
    assert f"the tag now points to {second}, not the pinned spec.source.digest {first}" in (
        error.value.message
    )


def test_tls_registry_needs_its_ca_and_plain_http_needs_the_allow_list(
    registries: Registries, tmp_path: Path
) -> None:
    tls = registries["distribution-tls"]
    ref = f"{tls.host}/tls/p:v1"
    with_ca = RegistrySettings(ca_bundles={tls.host: tls.ca_file})  # type: ignore[dict-item]
    (tmp_path / "p.wasm").write_bytes(wasm_bytes("tls"))
    digest = push_wasm(tmp_path / "p.wasm", ref, with_ca)

    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as untrusted:
        resolve(ref, RegistrySettings(attempts=4, backoff=1.0))
    assert time.monotonic() - started < 1.0  # a TLS failure is not retried at once
    plain = registries["distribution"]
    with pytest.raises(RegistryUnavailable) as not_allowed:
        resolve(f"{plain.host}/x/y:v1", RegistrySettings(attempts=1))

    assert resolve(ref, with_ca).digest == digest
    assert "private CA, give its bundle" in untrusted.value.message
    assert "TLS with" in not_allowed.value.message


def test_blocked_address_is_refused_at_connect_time(registries: Registries) -> None:
    registry = registries["oci"]
    settings = settings_for(registry, blocked_networks=("127.0.0.0/8",))

    with pytest.raises(InvalidSpec) as error:
        resolve(f"{registry.host}/any/p:v1", settings)

    assert "in blocked network 127.0.0.0/8" in error.value.message
    assert "does not connect to link-local or cloud metadata" in error.value.message


def test_registry_down_is_unavailable_after_retries(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{s.getsockname()[1]}"
    settings = RegistrySettings(plain_http=frozenset({host}), attempts=3, backoff=0.05)
    started = time.monotonic()

    with pytest.raises(RegistryUnavailable) as error:
        resolve(f"{host}/down/p:v1", settings)

    assert error.value.reason == "RegistryUnavailable" and not error.value.permanent
    assert "unreachable after 3 tries" in error.value.message
    assert time.monotonic() - started >= 0.15


def test_registry_answering_500_is_retried_then_unavailable(
    registries: Registries, tmp_path: Path
) -> None:
    registry = registries["distribution"]
    ref = f"{registry.host}/broken/p:v1"
    push_cncf(registry, ref, wasm_bytes("broken"), tmp_path)
    # A directory where docker-registry expects the tag's link file: its storage read fails and
    # it answers 500, as it would with a failing disk.
    link = registry.storage_dir / "docker/registry/v2/repositories/broken/p/_manifests/tags/v1"
    (link / "current" / "link").unlink()
    (link / "current" / "link").mkdir()
    delays: list[float] = []
    settings = settings_for(registry, attempts=3, backoff=0.05)
    transport = Transport(registry.host, settings, sleep=delays.append)

    with (
        RegistryClient(registry.host, settings, transport=transport) as client,
        pytest.raises(RegistryUnavailable) as error,
    ):
        client.manifest("broken/p", "v1")

    assert delays == [0.05, 0.1]
    assert "answered HTTP 500 3 times; it is retried later" in error.value.message
    assert not error.value.permanent


def test_registry_that_comes_back_during_backoff_is_used(tmp_path: Path) -> None:
    registry = distribution_registry(tmp_path, "flaky")
    registry.start()
    ref = f"{registry.host}/flaky/p:v1"
    settings = settings_for(registry, attempts=8, backoff=0.25, backoff_max=1.0)
    try:
        digest = push_cncf(registry, ref, wasm_bytes("flaky"), tmp_path)
        registry.stop()
        started = time.monotonic()
        # The restart happens on this thread: the kit's processes die with the thread that
        # started them (PR_SET_PDEATHSIG), so a helper thread resolves instead.
        with ThreadPoolExecutor(1) as pool:
            resolving = pool.submit(resolve, ref, settings)
            time.sleep(1.0)  # down for the first tries
            registry.start()
            resolved = resolving.result(timeout=30)
    finally:
        registry.stop()
    assert resolved.digest == digest
    assert time.monotonic() - started >= 1.0
