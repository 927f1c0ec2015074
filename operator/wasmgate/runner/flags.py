"""The flags of `wasmgate run`, kept apart from what they do so `--help` reads in one place.

Most flags have a WASMGATE_* variable that does the same (run_settings.py lays the flags over the
environment); observability.py adds its own group, and registry_ca_flag.py and proxy_flags.py the
flags `wasmgate agent` shares.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from wasmgate import proxy_flags, registry_ca_flag
from wasmgate import settings as operator_settings
from wasmgate.rollout import settings as rollout_settings
from wasmgate.runner import observability
from wasmgate_admission import settings as admission


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate run`."""
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None,
        help="kubeconfig of the cluster (default: $KUBECONFIG, else the in-cluster account)",
    )
    parser.add_argument(
        "--namespace-for-events",
        default=None,
        help="namespace of Events about cluster-scoped objects (default: "
        f"${operator_settings.ENV_EVENTS_NAMESPACE} or "
        f"{operator_settings.DEFAULT_EVENTS_NAMESPACE})",
    )
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=None,
        help="seconds between periodic passes that re-resolve pullPolicy: Always tags "
        f"(default: {operator_settings.DEFAULT_RESYNC_SECONDS:g})",
    )
    parser.add_argument(
        "--rollout-batch-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest a ready plugin change waits for other plugins of its WasmScheduler still "
        "in the pipeline, so a burst rolls out as one scheduler revision; 0 rolls each change at "
        f"once (default: ${operator_settings.ENV_ROLLOUT_BATCH_SECONDS} or "
        f"{rollout_settings.DEFAULT_BATCH_SECONDS:g})",
    )
    parser.add_argument(
        "--plain-http-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="registry reached over plain HTTP (repeatable; air-gapped and test registries)",
    )
    parser.add_argument(
        "--registry-mirror",
        action="append",
        default=[],
        metavar="PREFIX=MIRROR",
        help="read references under PREFIX from the same path under MIRROR (each "
        "host[:port][/path]; repeatable, the longest matching prefix wins); signatures and trust "
        "policies are still judged for the original reference. Give `wasmgate agent` the same "
        f"mappings (also ${operator_settings.ENV_REGISTRY_MIRRORS}, comma-separated)",
    )
    registry_ca_flag.add_argument(parser)
    proxy_flags.add_arguments(parser)
    parser.add_argument(
        "--validation-cache-dir",
        type=Path,
        default=None,
        help="directory of cached validation reports, kept across restarts",
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority: of the replicas sharing --peering, only the highest runs handlers, "
        "the others wait to take over (default with --peering: a random one per process, so "
        "replicas never tie; kopf freezes every replica of a tied priority)",
    )
    parser.add_argument(
        "--scheduler-namespace",
        default=None,
        metavar="NAME",
        help="namespace of scheduler Deployments, their ConfigMaps and leases, where the "
        "ServiceAccount wasmgate-scheduler and its Roles are installed: the one wasmgate is "
        f"installed in (default: ${operator_settings.ENV_SCHEDULER_NAMESPACE} or "
        f"{rollout_settings.DEFAULT_NAMESPACE})",
    )
    parser.add_argument(
        "--node-store",
        default=None,
        metavar="PATH",
        help="the node agents' store directory (their --store), which scheduler pods mount "
        "read-only as a hostPath: absolute and normalized (default: "
        f"${operator_settings.ENV_NODE_STORE} or {rollout_settings.DEFAULT_STORE_ROOT})",
    )
    parser.add_argument(
        "--verify-store-image",
        default=None,
        metavar="IMAGE",
        help="image of the scheduler pods' verify-store init container (default: the "
        "operator's own image, read from its Pod; outside a Pod "
        f"{rollout_settings.DEFAULT_WASMGATE_IMAGE})",
    )
    parser.add_argument(
        "--liveness",
        default=None,
        metavar="URL",
        help="serve kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz",
    )
    parser.add_argument(
        "--peering",
        default=None,
        metavar="NAME",
        help="ClusterKopfPeering to coordinate replicas (default: standalone)",
    )
    _add_webhook_arguments(parser)
    observability.add_arguments(parser)
    parser.add_argument("--log-file", type=Path, default=None, help="also log to this file")
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level")


def _add_webhook_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "admission webhook", "served by this process over TLS (docs/admission.md)"
    )
    group.add_argument(
        "--no-webhook",
        action="store_true",
        help="do not serve the webhook (the operator still enforces trust policies)",
    )
    group.add_argument(
        "--webhook-port",
        type=int,
        default=None,
        help=f"HTTPS port (default: ${admission.ENV_PORT} or {admission.DEFAULT_PORT})",
    )
    group.add_argument(
        "--webhook-host",
        default=None,
        help="name or address the apiserver calls, also in the serving certificate "
        f"(default: ${admission.ENV_HOST} or {admission.DEFAULT_HOST})",
    )
    group.add_argument(
        "--webhook-listen-address",
        default=None,
        help=f"address to bind (default: ${admission.ENV_LISTEN_ADDRESS} or "
        f"{admission.DEFAULT_LISTEN_ADDRESS}; 0.0.0.0 in a Pod)",
    )
    group.add_argument(
        "--webhook-cert-dir",
        type=Path,
        default=None,
        help="writable directory for the CA and serving certificate, created and rotated by "
        f"wasmgate (default: ${admission.ENV_CERT_DIR}, else a private temporary directory)",
    )
    group.add_argument(
        "--webhook-external-certs",
        action="store_true",
        default=None,
        help="the cert dir holds tls.crt/tls.key kept by someone else (cert-manager) who also "
        "fills the configuration's caBundle: wasmgate writes neither",
    )
    group.add_argument(
        "--webhook-ca-secret",
        default=None,
        metavar="NAMESPACE/NAME",
        help="Secret holding the CA all replicas share (created by the first; needs get, create "
        "and update on it); default: a CA per process",
    )
    group.add_argument(
        "--webhook-service",
        default=None,
        metavar="NAMESPACE/NAME[:PORT]",
        help="Service the apiserver calls instead of https://HOST:PORT (in a cluster)",
    )
    group.add_argument(
        "--webhook-configuration",
        default=None,
        metavar="NAME",
        help="ValidatingWebhookConfiguration to write "
        f"(default: {admission.DEFAULT_CONFIGURATION_NAME})",
    )
    group.add_argument(
        "--webhook-failure-policy",
        choices=("Ignore", "Fail"),
        default=None,
        help=f"what the apiserver does when the webhook cannot answer "
        f"(default: {admission.DEFAULT_FAILURE_POLICY})",
    )
    group.add_argument(
        "--webhook-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help=f"how long the apiserver waits, 1-30 (default: {admission.DEFAULT_TIMEOUT_SECONDS})",
    )
