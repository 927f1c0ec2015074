"""`wasmgate agent`: run the node agent of one node (the DaemonSet's command).

In a pod the node name comes from the downward API and credentials from the service account;
outside a cluster (the kit, tests) `--kubeconfig` points at the apiserver.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from kubernetes import client, config

from wasmgate import proxy_flags, registry_ca_flag
from wasmgate.agent.agent import Agent
from wasmgate.agent.settings import (
    DEFAULT_CAPACITY_BYTES,
    DEFAULT_CONCURRENCY,
    DEFAULT_GC_GRACE_SECONDS,
    DEFAULT_RESYNC_SECONDS,
    DEFAULT_SECRET_NAMESPACE,
    DEFAULT_STORE,
    AgentSettings,
)
from wasmgate.errors import InvalidSpec
from wasmgate.metrics_http import serve
from wasmgate.oci import RegistrySettings
from wasmgate.oci.mirror import parse_mirrors

# Scraped and probed from outside the Pod.
METRICS_ADDRESS = "0.0.0.0"  # noqa: S104


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate agent`."""
    parser.add_argument("--node", required=True, help="name of the Node this agent serves")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help="store root directory")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: in-cluster)")
    parser.add_argument(
        "--capacity", type=int, default=DEFAULT_CAPACITY_BYTES, help="store size cap in bytes"
    )
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="pulls running at once"
    )
    parser.add_argument(
        "--gc-grace",
        type=float,
        default=DEFAULT_GC_GRACE_SECONDS,
        help="seconds an unreferenced blob is kept before it is deleted",
    )
    parser.add_argument(
        "--resync", type=float, default=DEFAULT_RESYNC_SECONDS, help="seconds between resyncs"
    )
    parser.add_argument(
        "--secret-namespace",
        default=DEFAULT_SECRET_NAMESPACE,
        help="the only namespace pull secrets are read from",
    )
    parser.add_argument(
        "--plain-http",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="registry reached over plain HTTP (repeatable; for air-gapped and test registries)",
    )
    parser.add_argument(
        "--registry-mirror",
        action="append",
        default=[],
        metavar="PREFIX=MIRROR",
        help="pull references under PREFIX from the same path under MIRROR (each "
        "host[:port][/path]; repeatable, the longest matching prefix wins); give the operator "
        "(`wasmgate run --registry-mirror`) the same mappings",
    )
    registry_ca_flag.add_argument(parser)
    proxy_flags.add_arguments(parser)
    parser.add_argument("--stats-file", type=Path, help="write request counters here (JSON)")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics (store entries per state, fetches) and /healthz on this port",
    )


def _api_client(kubeconfig: Path | None) -> client.ApiClient:
    if kubeconfig is not None:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        return api
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; 2 when a flag is malformed."""
    reference = args.registry_ca_configmap or os.environ.get(registry_ca_flag.ENV)
    try:
        mirrors = parse_mirrors(args.registry_mirror, "--registry-mirror")
        if reference:
            registry_ca_flag.parse_reference(reference)
        proxy_flags.check_flags(args.https_proxy, args.no_proxy)
        proxy = proxy_flags.proxy_from(os.environ, args.https_proxy, args.no_proxy)
    except InvalidSpec as e:
        print(f"wasmgate agent: {e.message}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s agent[{args.node}] %(levelname)s %(message)s"
    )
    api = _api_client(args.kubeconfig)
    registry = RegistrySettings(plain_http=frozenset(args.plain_http), mirrors=mirrors, proxy=proxy)
    if reference:
        try:
            registry = registry_ca_flag.with_registry_cas(registry, api, reference)
        except InvalidSpec as e:
            print(f"wasmgate agent: {e.message}", file=sys.stderr)
            return 2
    settings = AgentSettings(
        node=args.node,
        store=args.store,
        capacity_bytes=args.capacity,
        concurrency=args.concurrency,
        gc_grace_seconds=args.gc_grace,
        resync_seconds=args.resync,
        secret_namespace=args.secret_namespace,
        registry=registry,
        stats_file=args.stats_file,
    )
    agent = Agent(settings, api)
    if args.metrics_port is not None:
        serve(METRICS_ADDRESS, args.metrics_port)

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    agent.run()
    return 0
