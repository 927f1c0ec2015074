"""Registry traffic through an HTTPS proxy (a local CONNECT proxy that records its tunnels), with
the SSRF guard judging the final target before any CONNECT (operator/wasmgate/oci/proxy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.artifacts import wasm_bytes
from support.connect_proxy import ConnectProxy, connect_proxy
from support.local_registries import Registries
from wasmgate.errors import InvalidSpec
from wasmgate.oci import RegistrySettings, push_wasm, resolve
from wasmgate.oci.proxy import ProxySettings

pytestmark = pytest.mark.e2e


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with connect_proxy() as running:
        yield running


def _pushed(registries: Registries, tmp_path: Path, label: str) -> tuple[str, str, Path]:
    tls = registries["distribution-tls"]
    assert tls.ca_file is not None
    ref = f"{tls.host}/proxied/{label}:v1"
    (tmp_path / "p.wasm").write_bytes(wasm_bytes(label))
    digest = push_wasm(
        tmp_path / "p.wasm", ref, RegistrySettings(ca_bundles={tls.host: tls.ca_file})
    )
    return ref, digest, tls.ca_file


def test_registry_traffic_goes_through_the_proxy(
    registries: Registries, proxy: ConnectProxy, tmp_path: Path
) -> None:
    ref, digest, ca_file = _pushed(registries, tmp_path, "through")
    host = ref.split("/", 1)[0]
    settings = RegistrySettings(ca_bundles={host: ca_file}, proxy=ProxySettings(proxy.url))

    assert resolve(ref, settings).digest == digest
    assert proxy.targets and set(proxy.targets) == {host}
    # Only tunnels: the registry's requests (and any Authorization) stayed inside TLS.
    assert all(line.startswith(f"CONNECT {host} ") for line in proxy.request_lines)


def test_no_proxy_and_plain_http_go_direct(
    registries: Registries, proxy: ConnectProxy, tmp_path: Path
) -> None:
    ref, digest, ca_file = _pushed(registries, tmp_path, "direct")
    host = ref.split("/", 1)[0]
    bypass = ProxySettings(proxy.url, ("127.0.0.0/8",))
    plain = registries["distribution"]
    plain_ref = f"{plain.host}/proxied/plain:v1"
    (tmp_path / "plain.wasm").write_bytes(wasm_bytes("plain"))
    plain_settings = RegistrySettings(
        plain_http=frozenset({plain.host}), proxy=ProxySettings(proxy.url)
    )
    plain_digest = push_wasm(tmp_path / "plain.wasm", plain_ref, plain_settings)

    assert resolve(ref, RegistrySettings(ca_bundles={host: ca_file}, proxy=bypass)).digest == digest
    assert resolve(plain_ref, plain_settings).digest == plain_digest
    assert proxy.request_lines == []


@pytest.mark.parametrize(
    "target", ["169.254.169.254", "169.254.169.254:443", "[fe80::1]:5000"], ids=str
)
def test_a_blocked_target_is_refused_before_any_connect(proxy: ConnectProxy, target: str) -> None:
    settings = RegistrySettings(proxy=ProxySettings(proxy.url), attempts=1)

    with pytest.raises(InvalidSpec) as refused:
        resolve(f"{target}/latest/meta-data:v1", settings)

    assert "judged before the proxy's CONNECT" in refused.value.message
    assert "which is in blocked network" in refused.value.message
    assert proxy.request_lines == []
