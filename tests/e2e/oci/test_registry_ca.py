"""Registry CA bundles from a ConfigMap's data: which keys mean what, and every bad value refused
naming the object, the key and the fix (operator/wasmgate/oci/registry_ca.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support import local_registries
from wasmgate.errors import InvalidSpec
from wasmgate.oci.registry_ca import (
    MAX_BUNDLE_BYTES,
    MAX_CERTIFICATES_PER_BUNDLE,
    MAX_KEYS,
    RegistryCAs,
    parse_registry_cas,
    write_bundles,
)

SOURCE = "--registry-ca-configmap: ConfigMap wasmgate-system/registry-ca"


@pytest.fixture
def pem(tmp_path: Path) -> str:
    return local_registries.TestCA.create(tmp_path).cert_file.read_text()


def test_keys_name_every_registry_or_one_host(pem: str) -> None:
    cas = parse_registry_cas(
        {"ca.crt": pem, "registry.corp.example.crt": pem, "127.0.0.1_5000.crt": pem + pem},
        [],
        SOURCE,
    )

    assert cas.every_registry == pem.encode()
    assert cas.per_registry == {
        "registry.corp.example": pem.encode(),
        "127.0.0.1:5000": (pem + pem).encode(),
    }


def test_written_bundles_load_into_tls(pem: str, tmp_path: Path) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_text(pem)
    cas = RegistryCAs(pem.encode(), {"127.0.0.1:5000": pem.encode()})

    bundles, default = write_bundles(cas, tmp_path / "out", roots)

    assert set(bundles) == {"127.0.0.1:5000"}
    assert default is not None
    assert default.read_text().count("BEGIN CERTIFICATE") == 2  # the roots, then ca.crt
    for path in (*bundles.values(), default):
        ssl.create_default_context(cafile=str(path))
    assert write_bundles(RegistryCAs(None, {}), tmp_path / "none", roots) == ({}, None)


def _der(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return der.decode("latin-1")


@pytest.mark.parametrize(
    ("data", "binary", "message"),
    [
        pytest.param(
            {}, [], f"{SOURCE} has no data; add PEM bundles, e.g. kubectl create", id="empty"
        ),
        pytest.param(
            {"ca.crt": "PEM"},
            ["ca.der"],
            f"{SOURCE}: binaryData key 'ca.der' is not read; put PEM",
            id="binary-data",
        ),
        pytest.param(
            {"registry:5000.crt": "PEM"},
            [],
            f'{SOURCE}: key "registry:5000.crt" names no registry',
            id="colon-in-key",
        ),
        pytest.param(
            {"registry.pem": "PEM"},
            [],
            f'{SOURCE}: key "registry.pem" names no registry; use "ca.crt"',
            id="wrong-suffix",
        ),
        pytest.param(
            {"registry_70000.crt": "PEM"},
            [],
            f'{SOURCE}: key "registry_70000.crt" names no registry',
            id="port-out-of-range",
        ),
        pytest.param(
            {"ca.crt": "not pem"},
            [],
            f'{SOURCE} key "ca.crt" is not a PEM certificate bundle',
            id="not-pem",
        ),
        pytest.param(
            {"ca.crt": "DER"},
            [],
            f'{SOURCE} key "ca.crt" is not a PEM certificate bundle',
            id="der",
        ),
        pytest.param(
            {"ca.crt": "PEM+KEY"},
            [],
            f'{SOURCE} key "ca.crt" holds a private key; remove it',
            id="private-key",
        ),
        pytest.param(
            {"ca.crt": "HUGE"},
            [],
            f'{SOURCE} key "ca.crt" is {MAX_BUNDLE_BYTES + 1} bytes, above',
            id="too-large",
        ),
        pytest.param(
            {"ca.crt": "MANY"},
            [],
            f'{SOURCE} key "ca.crt" holds {MAX_CERTIFICATES_PER_BUNDLE + 1} certificates, above',
            id="too-many-certificates",
        ),
        pytest.param(
            {f"r{i}.crt": "PEM" for i in range(MAX_KEYS + 1)},
            [],
            f"{SOURCE} has {MAX_KEYS + 1} keys, above the cap of {MAX_KEYS}",
            id="too-many-keys",
        ),
        pytest.param(
            {"Registry.example.crt": "PEM", "registry.example.crt": "PEM"},
            [],
            f'{SOURCE}: key "registry.example.crt" names registry registry.example a second time',
            id="same-host-twice",
        ),
    ],
)
def test_bad_configmaps_are_refused_naming_the_key_and_the_fix(
    pem: str, data: dict[str, str], binary: list[str], message: str
) -> None:
    key_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    values = {
        "PEM": pem,
        "DER": _der(pem),
        "PEM+KEY": pem + key_pem,
        "HUGE": pem + "#" * (MAX_BUNDLE_BYTES + 1 - len(pem)),
        "MANY": pem * (MAX_CERTIFICATES_PER_BUNDLE + 1),
    }
    resolved = {key: values.get(value, value) for key, value in data.items()}

    with pytest.raises(InvalidSpec) as refused:
        parse_registry_cas(resolved, binary, SOURCE)

    assert refused.value.message.startswith(message), refused.value.message
    assert refused.value.reason == "InvalidSpec"
