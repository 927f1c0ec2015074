"""Which addresses are refused by default, and the retry schedule."""

import pytest

from wasmgate.oci.settings import RegistrySettings
from wasmgate.oci.ssrf import blocked_network

NETWORKS = RegistrySettings().networks()


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("169.254.169.254", "169.254.0.0/16"),
        ("::ffff:169.254.169.254", "169.254.0.0/16"),
        ("fe80::1%eth0", "fe80::/10"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("100.100.100.200", "100.100.100.200/32"),
        ("168.63.129.16", "168.63.129.16/32"),
        ("127.0.0.1", None),
        ("10.0.0.5", None),
        ("2001:db8::1", None),
    ],
    ids=[
        "aws-gcp-metadata",
        "ipv4-mapped",
        "ipv6-link-local",
        "aws-ipv6-imds",
        "alibaba",
        "azure-wireserver",
        "loopback-allowed",
        "private-allowed",
        "public-v6-allowed",
    ],
)
def test_blocked_network(address: str, blocked: str | None) -> None:
    network = blocked_network(address, NETWORKS)
    assert (str(network) if network else None) == blocked


def test_backoff_doubles_and_caps() -> None:
    settings = RegistrySettings(attempts=6, backoff=0.5, backoff_max=3.0)
    assert settings.backoff_delays() == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_settings_normalize_hosts() -> None:
    settings = RegistrySettings(plain_http=frozenset({"Index.Docker.IO", "Reg.io:5000"}))
    assert settings.plain_http == frozenset({"docker.io", "reg.io:5000"})
