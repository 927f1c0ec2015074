"""One webhook CA for every replica, kept in a Secret.

The ValidatingWebhookConfiguration has one caBundle. When each replica made its own CA, the last
one to start won and the apiserver's calls to the others failed TLS (and failed open). With
`--webhook-ca-secret`, the first replica creates the CA and stores it (certificate and key) in a
Secret; the others adopt it and issue their own serving certificates from it, so every replica
writes the same caBundle. A create or update that loses a race (409) re-reads the Secret and
adopts the winner's CA.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate_admission.key_files import make_private_directory, write_atomically
from wasmgate_admission.settings import NamespacedName

NOT_FOUND = 404
CONFLICT = 409
REQUEST_TIMEOUT_SECONDS = 30
CA_FILES = ("ca.pem", "ca-key.pem")


def _write_if_changed(path: Path, data: bytes, private: bool) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    write_atomically(path, data, private=private)


@dataclass(frozen=True)
class Fetched:
    """What the Secret held."""

    resource_version: str | None
    """None: there is no Secret yet (create it)."""
    complete: bool
    """Whether it held a CA (written into the directory)."""


def fetch(api: client.ApiClient, ref: NamespacedName, directory: Path) -> Fetched:
    """Write the shared CA, if the Secret holds one, into `directory`."""
    core = client.CoreV1Api(api)
    try:
        secret = core.read_namespaced_secret(
            ref.name, ref.namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
    except ApiException as e:
        if e.status == NOT_FOUND:
            return Fetched(None, complete=False)
        raise
    data = secret.data or {}
    version = str(secret.metadata.resource_version) if secret.metadata else None
    if not all(name in data for name in CA_FILES):
        # Present but emptied or foreign: replaced when this replica publishes its CA.
        return Fetched(version, complete=False)
    make_private_directory(directory)
    for name in CA_FILES:
        _write_if_changed(directory / name, base64.b64decode(data[name]), name == "ca-key.pem")
    return Fetched(version, complete=True)


def publish(
    api: client.ApiClient, ref: NamespacedName, directory: Path, resource_version: str | None
) -> bool:
    """Store the CA of `directory` in the Secret; False when another replica wrote it first."""
    core = client.CoreV1Api(api)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": ref.name,
            "namespace": ref.namespace,
            "labels": {"app.kubernetes.io/managed-by": "wasmgate"},
        },
        "type": "Opaque",
        "data": {
            name: base64.b64encode((directory / name).read_bytes()).decode("ascii")
            for name in CA_FILES
        },
    }
    try:
        if resource_version is None:
            core.create_namespaced_secret(
                ref.namespace, cast(Any, body), _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        else:
            body["metadata"]["resourceVersion"] = resource_version
            core.replace_namespaced_secret(
                ref.name, ref.namespace, cast(Any, body), _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
    except ApiException as e:
        if e.status == CONFLICT:
            return False
        raise
    return True
