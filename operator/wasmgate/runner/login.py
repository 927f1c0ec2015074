"""Cluster credentials for kopf from an explicit kubeconfig (or in-cluster service account).

kopf's built-in login reads only the default kubeconfig and leaves Events about cluster-scoped
objects to the credentials' default namespace; `wasmgate run --kubeconfig` and
`--namespace-for-events` need both under our control.
"""

from __future__ import annotations

from pathlib import Path

import kopf
from kubernetes import client, config


def load_client_configuration(kubeconfig: Path | None) -> client.Configuration:
    """The Kubernetes client configuration: the kubeconfig if given, else in-cluster."""
    configuration = client.Configuration()
    if kubeconfig is None:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
    return configuration


def api_client(kubeconfig: Path | None, connections: int | None = None) -> client.ApiClient:
    """A Kubernetes API client for the handlers' own reads and writes, keeping up to
    `connections` connections alive (one per thread that may call at once; urllib3's default,
    cores x 5, when not given)."""
    configuration = load_client_configuration(kubeconfig)
    if connections is not None:
        configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


def connection_info(kubeconfig: Path | None, events_namespace: str) -> kopf.ConnectionInfo:
    """What kopf needs to talk to the cluster, read from the same configuration."""
    configuration = load_client_configuration(kubeconfig)
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, _, token = (header or "").partition(" ")
    if header and not token:
        scheme, token = "", header
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        default_namespace=events_namespace,
    )
