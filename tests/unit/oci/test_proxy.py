"""Proxy settings without a network: which hosts bypass it, bad flags and variables refused by
name, and the final target judged by its resolved addresses (operator/wasmgate/oci/proxy.py)."""

from __future__ import annotations

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.oci.proxy import ProxySettings, TargetBlocked, check_target, parse_proxy
from wasmgate.oci.settings import RegistrySettings
from wasmgate.proxy_flags import check_flags, proxy_from

PROXY = "http://proxy.corp.example:3128"
NETWORKS = RegistrySettings().networks()


@pytest.mark.parametrize(
    ("no_proxy", "host", "proxied"),
    [
        ((), "registry.corp.example", True),
        (("registry.corp.example",), "registry.corp.example:5000", False),
        ((".corp.example",), "registry.corp.example", False),
        (("corp.example",), "registry.corp.example", False),
        (("corp.example",), "notcorp.example", True),
        (("registry.corp.example:5000",), "registry.corp.example:5000", False),
        (("registry.corp.example:5000",), "registry.corp.example:6000", True),
        (("10.0.0.0/8",), "10.1.2.3:5000", False),
        (("10.0.0.0/8",), "registry.corp.example", True),
        (("*",), "ghcr.io", False),
        (("GHCR.io",), "ghcr.io", False),
    ],
    ids=str,
)
def test_no_proxy_entries(no_proxy: tuple[str, ...], host: str, proxied: bool) -> None:
    assert ProxySettings(PROXY, no_proxy).applies_to(host) is proxied


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({}, ("proxy.corp:3128", None), '--https-proxy: "proxy.corp:3128" is not a proxy URL; '
         "write http://HOST:PORT, e.g. --https-proxy=http://proxy.corp.example:3128"),
        ({}, ("socks5://proxy:1080", None), '--https-proxy: "socks5://proxy:1080" is not a proxy'),
        ({}, ("http://proxy:99999", None), '--https-proxy: "http://proxy:99999" has a bad port'),
        ({}, ("http://proxy:3/path", None), '--https-proxy: "http://proxy:3/path" has a path'),
        ({}, ("http://u:secret@proxy/x", None), '--https-proxy: "http://u:***@proxy/x" has a path'),
        ({}, (PROXY, "10.0.0.0/33"), '--no-proxy: "10.0.0.0/33" is not a CIDR'),
        ({}, (PROXY, "http://registry"), '--no-proxy: "http://registry" is not a host'),
        ({"HTTPS_PROXY": "proxy:3128"}, (None, None), 'HTTPS_PROXY: "proxy:3128" is not a proxy'),
        ({"https_proxy": PROXY, "NO_PROXY": "1.2.3.4/99"}, (None, None),
         'NO_PROXY: "1.2.3.4/99" is not a CIDR'),
        ({"WASMGATE_HTTPS_PROXY": "ftp://p"}, (None, None),
         'WASMGATE_HTTPS_PROXY: "ftp://p" is not a proxy URL'),
    ],
)  # fmt: skip
def test_bad_proxy_settings_are_refused_by_name(
    env: dict[str, str], flags: tuple[str | None, str | None], message: str
) -> None:
    with pytest.raises(InvalidSpec) as refused:
        proxy_from(env, *flags)
        check_flags(*flags)

    assert refused.value.message.startswith(message), refused.value.message
    assert "secret" not in refused.value.message


def test_flags_override_the_standard_variables() -> None:
    env = {"HTTPS_PROXY": "http://env-proxy:1", "NO_PROXY": "a.example"}

    assert proxy_from({}) is None
    assert proxy_from(env) == ProxySettings("http://env-proxy:1", ("a.example",))
    assert proxy_from(env, PROXY, "") == ProxySettings(PROXY, ())
    assert repr(parse_proxy("http://u:secret@p:3", "", "f", "n")) == "ProxySettings(http://p:3, ())"


def test_a_name_that_resolves_into_a_blocked_network_is_refused() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"metadata.internal": ["10.0.0.1", "169.254.169.254"]}.get(host, ["10.0.0.2"])

    with pytest.raises(TargetBlocked) as refused:
        check_target("metadata.internal", 443, NETWORKS, resolve)
    check_target("registry.corp.example", 443, NETWORKS, resolve)

    assert str(refused.value) == (
        "metadata.internal resolves to 169.254.169.254, which is in blocked network "
        "169.254.0.0/16 (judged before the proxy's CONNECT)"
    )


def test_a_name_that_does_not_resolve_here_is_left_to_the_proxy() -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    check_target("only-the-proxy-knows.example", 443, NETWORKS, resolve)
