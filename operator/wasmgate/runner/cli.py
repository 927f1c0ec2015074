"""`wasmgate run`: the operator as a local process or in a Pod.

Flags are exported as WASMGATE_* variables before the handlers are imported, because kopf reads
a timer's interval when its decorator runs; the environment therefore works as well as the flags.
Kopf watches cluster-wide; peering is off unless `--peering` names a ClusterKopfPeering (run one
replica, or give every replica the same peering name).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from wasmgate import settings as operator_settings
from wasmgate.runner.kopf_settings import kopf_settings
from wasmgate.runner.login import api_client
from wasmgate.runner.runtime import Runtime
from wasmgate.validate.cache import ValidationCache

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
        "--plain-http-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="registry reached over plain HTTP (repeatable; air-gapped and test registries)",
    )
    parser.add_argument(
        "--validation-cache-dir",
        type=Path,
        default=None,
        help="directory of cached validation reports, kept across restarts",
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
    parser.add_argument("--log-file", type=Path, default=None, help="also log to this file")
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level")


def _export(args: argparse.Namespace) -> None:
    env = os.environ
    if args.namespace_for_events:
        env[operator_settings.ENV_EVENTS_NAMESPACE] = args.namespace_for_events
    if args.resync_seconds is not None:
        env[operator_settings.ENV_RESYNC_SECONDS] = str(args.resync_seconds)
    if args.plain_http_registry:
        known = env.get(operator_settings.ENV_PLAIN_HTTP_REGISTRIES, "")
        hosts = [h for h in known.split(",") if h] + list(args.plain_http_registry)
        env[operator_settings.ENV_PLAIN_HTTP_REGISTRIES] = ",".join(hosts)
    if args.validation_cache_dir is not None:
        env[operator_settings.ENV_VALIDATION_CACHE_DIR] = str(args.validation_cache_dir)


def _configure_logging(log_file: Path | None, verbose: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT, handlers=handlers
    )
    # The Kubernetes client logs request bodies (Secrets among them) at DEBUG.
    logging.getLogger("kubernetes").setLevel(logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.INFO)


def run(args: argparse.Namespace) -> int:
    """Start kopf with the WasmPlugin handlers; returns when the operator stops."""
    import kopf

    _export(args)
    _configure_logging(args.log_file, args.verbose)
    settings = operator_settings.settings_from_env()
    importlib.import_module("wasmgate.handlers")
    runtime = Runtime(
        settings=settings,
        api=api_client(args.kubeconfig),
        kubeconfig=args.kubeconfig,
        validation_cache=ValidationCache(settings.validation_cache_dir),
    )
    kopf.run(
        clusterwide=True,
        standalone=args.peering is None,
        peering_name=args.peering,
        liveness_endpoint=args.liveness,
        settings=kopf_settings(),
        memo=runtime,
    )
    return 0
