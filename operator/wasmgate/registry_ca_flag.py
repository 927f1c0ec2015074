"""`--registry-ca-configmap NAMESPACE/NAME`: the registry CA bundles of `wasmgate run` and
`wasmgate agent`, read from the cluster once at start-up.

Both processes pull from registries (the operator manifests and signatures, the agents blobs), so
both take the same flag and the same ConfigMap (keys in oci/registry_ca.py). A ConfigMap rather
than a mounted file because the kit and local runs have no volume to mount, and RBAC can grant
`get` on exactly this one object. Read once: a change takes a restart (`kubectl rollout restart`),
which docs/operations.md says; anything wrong stops the process before it starts, naming the flag,
the object, the key and the fix.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from wasmgate.errors import InvalidSpec
from wasmgate.oci.registry_ca import EXAMPLE, parse_registry_cas, write_bundles
from wasmgate.oci.settings import RegistrySettings

FLAG = "--registry-ca-configmap"
ENV = "WASMGATE_REGISTRY_CA_CONFIGMAP"


def add_argument(parser: argparse.ArgumentParser) -> None:
    """The flag, with the same help on both commands."""
    parser.add_argument(
        FLAG,
        default=None,
        metavar="NAMESPACE/NAME",
        help="ConfigMap of PEM CA bundles for registries: key ca.crt is trusted for every "
        "registry besides the system roots, key HOST.crt or HOST_PORT.crt replaces the system "
        "roots for that registry; read at start-up (needs get on it). Give `wasmgate run` and "
        f"`wasmgate agent` the same one (also ${ENV})",
    )


def parse_reference(text: str) -> tuple[str, str]:
    """(namespace, name) of NAMESPACE/NAME; InvalidSpec naming the flag and the fix."""
    namespace, sep, name = text.partition("/")
    if not sep or not namespace or not name or "/" in name or text != text.strip():
        raise InvalidSpec(
            f'{FLAG}: "{text}" is not NAMESPACE/NAME; write e.g. '
            f"{FLAG}=wasmgate-system/wasmgate-registry-ca"
        )
    return namespace, name


def with_registry_cas(
    settings: RegistrySettings, api: ApiClient, reference: str, directory: Path | None = None
) -> RegistrySettings:
    """`settings` with the ConfigMap's bundles written under `directory` (a private temporary
    directory by default); InvalidSpec naming the flag, the object, the key and the fix."""
    namespace, name = parse_reference(reference)
    source = f"{FLAG}: ConfigMap {namespace}/{name}"
    try:
        configmap = CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status == 404:
            raise InvalidSpec(f"{source} does not exist; create it, e.g. {EXAMPLE}") from e
        if e.status == 403:
            raise InvalidSpec(
                f"{source} may not be read (HTTP 403); grant get on it with resourceNames "
                "(deploy/operator/rbac.yaml and deploy/agent/rbac.yaml do for "
                "wasmgate-system/wasmgate-registry-ca)"
            ) from e
        raise InvalidSpec(f"{source} could not be read: HTTP {e.status} {e.reason}") from e
    cas = parse_registry_cas(
        configmap.data or {}, list((configmap.binary_data or {}).keys()), source
    )
    target = directory or Path(tempfile.mkdtemp(prefix="wasmgate-registry-ca-"))
    bundles, default = write_bundles(cas, target, Path(DEFAULT_CA_BUNDLE_PATH))
    return replace(
        settings, ca_bundles={**settings.ca_bundles, **bundles}, default_ca_bundle=default
    )
