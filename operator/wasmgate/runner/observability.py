"""What `wasmgate run` adds to kopf for running in a Pod: metrics, readiness, a namespace scope.

Kept apart from the runner's CLI so the flags and their effect live together:
- `--metrics-port` serves /metrics, /healthz and /readyz (wasmgate.metrics_http); /readyz says
  "ready" once kopf has started and, when the webhook is on, once its port accepts connections.
- `--namespace` limits kopf's watch of namespaced kinds (the Secrets it indexes) to the given
  namespaces; cluster-scoped kinds (WasmPlugin, ...) are watched cluster-wide either way. That
  lets the operator's RBAC grant Secrets in wasmgate-system only (deploy/operator/rbac.yaml).
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from wasmgate.metrics_http import Endpoint, ReadinessCheck, flag_set, port_listening, serve

DEFAULT_METRICS_ADDRESS = "0.0.0.0"  # noqa: S104 - scraped and probed from outside the Pod
LOOPBACK = "127.0.0.1"
WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of this module, in their own help group."""
    group = parser.add_argument_group("observability and scope")
    group.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics, /healthz and /readyz on this port (default: off)",
    )
    group.add_argument(
        "--metrics-address",
        default=DEFAULT_METRICS_ADDRESS,
        help=f"address the metrics endpoint binds (default: {DEFAULT_METRICS_ADDRESS})",
    )
    group.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NAME",
        help="watch namespaced kinds (Secrets) only in NAME (repeatable; default: all "
        "namespaces); cluster-scoped kinds are always watched cluster-wide",
    )


def kopf_scope(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of `kopf.run` that choose what kopf watches."""
    namespaces: list[str] = list(args.namespace)
    return {"clusterwide": not namespaces, "namespaces": namespaces}


def probe_address(listen_address: str) -> str:
    """Where to check a listener bound to `listen_address` (a wildcard answers on loopback)."""
    return LOOPBACK if listen_address in WILDCARDS else listen_address


def start_endpoint(
    args: argparse.Namespace, kopf_ready: threading.Event, webhook: tuple[str, int] | None
) -> Endpoint | None:
    """Start the metrics endpoint when `--metrics-port` is set; None otherwise.

    `webhook` is the (listen address, port) of the admission webhook, None when it is off.
    """
    if args.metrics_port is None:
        return None
    checks: list[ReadinessCheck] = [flag_set(kopf_ready, "kopf")]
    if webhook is not None:
        checks.append(port_listening(probe_address(webhook[0]), webhook[1]))
    return serve(args.metrics_address, args.metrics_port, checks)
