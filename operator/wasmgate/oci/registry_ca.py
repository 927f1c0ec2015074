"""Registry CAs from a ConfigMap: which PEM bundle each registry's TLS is checked against.

Clusters reach registries behind a corporate CA (a proxy that re-signs outbound TLS) or a private
one (an in-house registry). The administrator keeps PEM bundles in one ConfigMap that the operator
and every agent read at start-up (`--registry-ca-configmap`). Its keys:

- `ca.crt`: trusted for every registry, in addition to the system roots (the corporate CA).
- `<host>.crt` or `<host>_<port>.crt`: trusted for that registry only, instead of the system roots
  (a ConfigMap key cannot hold `:`, so the port follows an underscore; IPv6 literals cannot be
  written and are refused by the key pattern).

Each bundle is parsed with `cryptography` before anything trusts it, so a pasted private key, a
DER file, an empty value or a stray key is refused at start-up naming the key and the fix, instead
of surfacing at the first TLS handshake as an opaque verification error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import normalize_registry

EVERY_REGISTRY_KEY = "ca.crt"
# A ConfigMap holds at most 1 MiB; these caps keep one bad paste from becoming a huge trust store.
MAX_KEYS = 64
MAX_BUNDLE_BYTES = 256 * 1024
MAX_CERTIFICATES_PER_BUNDLE = 64
_HOST_KEY = re.compile(
    r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?:_(?P<port>[0-9]{1,5}))?\.crt$"
)
EXAMPLE = (
    "kubectl create configmap wasmgate-registry-ca -n wasmgate-system "
    "--from-file=ca.crt=corp-ca.pem --from-file=registry.corp.example_5000.crt=registry-ca.pem"
)


@dataclass(frozen=True)
class RegistryCAs:
    """Validated PEM bundles: one for every registry, and per registry host."""

    every_registry: bytes | None = None
    """PEM added to the system roots for every registry (key `ca.crt`). Default: none."""
    per_registry: Mapping[str, bytes] = field(default_factory=dict)
    """Per registry host (`host[:port]`), PEM that replaces the system roots. Default: none."""


def host_of_key(key: str, source: str) -> str | None:
    """The registry host a key names (None for `ca.crt`); InvalidSpec for any other key."""
    if key == EVERY_REGISTRY_KEY:
        return None
    match = _HOST_KEY.match(key)
    port = match.group("port") if match else None
    if match is None or (port is not None and not 0 < int(port) < 65536):
        raise InvalidSpec(
            f'{source}: key "{key}" names no registry; use "{EVERY_REGISTRY_KEY}" for every '
            'registry or "<host>.crt" / "<host>_<port>.crt" for one, e.g. '
            '"registry.corp.example_5000.crt" for registry.corp.example:5000'
        )
    host = match.group("host")
    return normalize_registry(f"{host}:{port}" if port else host)


def check_bundle(pem: str, where: str) -> bytes:
    """The bundle as bytes when it is PEM certificates only; InvalidSpec naming `where` if not."""
    data = pem.encode()
    if len(data) > MAX_BUNDLE_BYTES:
        raise InvalidSpec(
            f"{where} is {len(data)} bytes, above the cap of {MAX_BUNDLE_BYTES}; keep only the "
            "CA certificates that sign the registry's chain"
        )
    if "PRIVATE KEY-----" in pem:
        raise InvalidSpec(
            f"{where} holds a private key; remove it (a CA bundle needs only the CA certificates, "
            "and the key must not sit in a ConfigMap)"
        )
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise InvalidSpec(
            f"{where} is not a PEM certificate bundle ({e}); give one or more "
            '"-----BEGIN CERTIFICATE-----" blocks (convert DER with `openssl x509 -inform der`)'
        ) from e
    if len(certificates) > MAX_CERTIFICATES_PER_BUNDLE:
        raise InvalidSpec(
            f"{where} holds {len(certificates)} certificates, above the cap of "
            f"{MAX_CERTIFICATES_PER_BUNDLE}; keep only the CAs that sign the registry's chain"
        )
    return data


def parse_registry_cas(data: Mapping[str, str], binary_keys: list[str], source: str) -> RegistryCAs:
    """Validate a ConfigMap's `data` (and refuse its `binaryData`) as registry CA bundles.

    `source` names the object in every message, e.g. "ConfigMap wasmgate-system/registry-ca".
    """
    if binary_keys:
        raise InvalidSpec(
            f"{source}: binaryData key {sorted(binary_keys)[0]!r} is not read; put PEM text "
            f"under data, e.g. {EXAMPLE}"
        )
    if not data:
        raise InvalidSpec(f"{source} has no data; add PEM bundles, e.g. {EXAMPLE}")
    if len(data) > MAX_KEYS:
        raise InvalidSpec(
            f"{source} has {len(data)} keys, above the cap of {MAX_KEYS}; put registries that "
            f"share a CA under {EVERY_REGISTRY_KEY}"
        )
    every: bytes | None = None
    per_registry: dict[str, bytes] = {}
    for key in sorted(data):
        host = host_of_key(key, source)
        bundle = check_bundle(data[key], f'{source} key "{key}"')
        if host is None:
            every = bundle
        elif host in per_registry:
            raise InvalidSpec(
                f'{source}: key "{key}" names registry {host} a second time; keep one key for it'
            )
        else:
            per_registry[host] = bundle
    return RegistryCAs(every, per_registry)


def write_bundles(
    cas: RegistryCAs, directory: Path, system_roots: Path
) -> tuple[dict[str, Path], Path | None]:
    """Write the bundles as files for the TLS stack: (per-host bundles, default bundle).

    The default bundle is the system roots followed by `ca.crt`, since a CA file given to TLS
    replaces the roots it would otherwise use.
    """
    directory.mkdir(parents=True, exist_ok=True)
    bundles: dict[str, Path] = {}
    for index, (host, pem) in enumerate(sorted(cas.per_registry.items())):
        path = directory / f"registry-{index}.pem"
        path.write_bytes(pem)
        bundles[host] = path
    if cas.every_registry is None:
        return bundles, None
    default = directory / "every-registry.pem"
    default.write_bytes(system_roots.read_bytes().rstrip(b"\n") + b"\n" + cas.every_registry)
    return bundles, default
