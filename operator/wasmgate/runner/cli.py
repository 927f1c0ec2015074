"""`wasmgate run`: the operator as a local process or in a Pod.

Flags are exported as WASMGATE_* variables before the handlers are imported, because kopf reads
a timer's interval when its decorator runs; the environment therefore works as well as the flags.
Kopf watches cluster-wide (namespaced kinds only in `--namespace`, see observability.py); peering
is off unless `--peering` names a ClusterKopfPeering, or with `--namespace` a KopfPeering there
(run one replica, or give every replica the same peering name). The admission webhook is served
by the same process unless `--no-webhook`; its settings are checked before kopf starts, so a cert
dir on a read-only filesystem is a clear error instead of a start-up loop.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import sys
import threading
from dataclasses import replace
from pathlib import Path

from kubernetes.client import ApiClient

from wasmgate import proxy_flags, registry_ca_flag
from wasmgate import settings as operator_settings
from wasmgate.errors import InvalidSpec
from wasmgate.oci.mirror import parse_mirrors
from wasmgate.rollout import settings as rollout_settings
from wasmgate.runner import observability
from wasmgate.runner.kopf_settings import kopf_settings
from wasmgate.runner.login import api_client
from wasmgate.runner.own_image import own_image
from wasmgate.runner.runtime import Runtime
from wasmgate.validate.cache import ValidationCache
from wasmgate_admission import glue
from wasmgate_admission import settings as admission

LOG = logging.getLogger(__name__)
# Replicas draw their peering priority from 1..2**31-1: a tie (both freeze) is a one in two
# billion chance per pair.
MAX_PRIORITY = 2**31 - 1
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


_WEBHOOK_FLAGS = {
    "webhook_port": admission.ENV_PORT,
    "webhook_host": admission.ENV_HOST,
    "webhook_listen_address": admission.ENV_LISTEN_ADDRESS,
    "webhook_cert_dir": admission.ENV_CERT_DIR,
    "webhook_external_certs": admission.ENV_EXTERNAL_CERTS,
    "webhook_ca_secret": admission.ENV_CA_SECRET,
    "webhook_service": admission.ENV_SERVICE,
    "webhook_configuration": admission.ENV_CONFIGURATION,
    "webhook_failure_policy": admission.ENV_FAILURE_POLICY,
    "webhook_timeout": admission.ENV_TIMEOUT,
}


def _export_webhook(args: argparse.Namespace) -> None:
    if args.no_webhook:
        os.environ[admission.ENV_ENABLED] = "off"
    for flag, variable in _WEBHOOK_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            os.environ[variable] = str(value)


def _webhook_problem() -> str | None:
    """Why the webhook settings cannot work, said before kopf starts; None when they can."""
    try:
        settings = admission.AdmissionSettings.from_env()
    except ValueError as e:
        return str(e)
    if not settings.enabled or settings.cert_dir is None:
        return None
    if settings.external_certs:
        missing = glue.missing_mounted_files(settings.cert_dir)
        if missing:
            return (
                f"--webhook-cert-dir {settings.cert_dir} lacks {', '.join(missing)}; "
                "--webhook-external-certs expects them mounted there (cert-manager's Secret)"
            )
        return None
    try:
        settings.cert_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"--webhook-cert-dir {settings.cert_dir}: {e.strerror}"
    if not os.access(settings.cert_dir, os.W_OK):
        return (
            f"--webhook-cert-dir {settings.cert_dir} is not writable; mount a writable volume "
            "there (the root filesystem may be read-only), or run with --no-webhook"
        )
    return None


def _registry_problem(args: argparse.Namespace) -> str | None:
    """A malformed registry flag, named before it is mixed with the environment's values."""
    try:
        parse_mirrors(args.registry_mirror, "--registry-mirror")
        if args.registry_ca_configmap is not None:
            registry_ca_flag.parse_reference(args.registry_ca_configmap)
        proxy_flags.check_flags(args.https_proxy, args.no_proxy)
    except InvalidSpec as e:
        return e.message
    return None


def _settings_problem() -> str | None:
    """What the WASMGATE_* environment gets wrong, said before kopf starts."""
    try:
        operator_settings.settings_from_env()
    except (InvalidSpec, ValueError) as e:
        return e.message if isinstance(e, InvalidSpec) else str(e)
    return None


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
    if args.registry_mirror:
        known = env.get(operator_settings.ENV_REGISTRY_MIRRORS, "")
        mirrors = [m for m in known.split(",") if m] + list(args.registry_mirror)
        env[operator_settings.ENV_REGISTRY_MIRRORS] = ",".join(mirrors)
    if args.registry_ca_configmap is not None:
        env[registry_ca_flag.ENV] = args.registry_ca_configmap
    if args.https_proxy:
        env[proxy_flags.ENV] = args.https_proxy
    if args.no_proxy is not None:
        env[proxy_flags.NO_PROXY_ENV] = args.no_proxy
    if args.validation_cache_dir is not None:
        env[operator_settings.ENV_VALIDATION_CACHE_DIR] = str(args.validation_cache_dir)
    _export_webhook(args)


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
    # One access line per admission review, next to kopf's own line for the same review.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not verbose:
        logging.getLogger("kopf.objects").addFilter(_quiet_wake_ups)


def _quiet_wake_ups(record: logging.LogRecord) -> bool:
    """Drop kopf's "Handler 'wake_on_...' succeeded" lines: one per watch event on nodes and
    node caches, they bury everything else; a wake-up handler that fails is still logged."""
    return not (
        record.levelno < logging.WARNING and str(record.msg).startswith("Handler 'wake_on_")
    )


def _with_verify_store_image(
    settings: operator_settings.OperatorSettings, api: ApiClient, args: argparse.Namespace
) -> operator_settings.OperatorSettings:
    image = args.verify_store_image or own_image(api, os.environ)
    if image is None:
        return settings
    LOG.info("scheduler pods verify their store with %s", image)
    return replace(settings, rollout=replace(settings.rollout, wasmgate_image=image))


def _with_registry_cas(
    settings: operator_settings.OperatorSettings, api: ApiClient
) -> operator_settings.OperatorSettings:
    reference = os.environ.get(registry_ca_flag.ENV)
    if not reference:
        return settings
    registry = registry_ca_flag.with_registry_cas(settings.registry, api, reference)
    LOG.info(
        "registry CAs from ConfigMap %s: every registry %s, per registry %s",
        reference,
        "yes" if registry.default_ca_bundle else "no",
        ", ".join(sorted(registry.ca_bundles)) or "none",
    )
    return replace(settings, registry=registry)


def _peering_priority(args: argparse.Namespace) -> int | None:
    if args.peering is None:
        return None
    priority: int = (
        args.priority if args.priority is not None else secrets.randbelow(MAX_PRIORITY) + 1
    )
    LOG.info("peering %s with priority %d", args.peering, priority)
    return priority


def run(args: argparse.Namespace) -> int:
    """Start kopf with the WasmPlugin handlers; returns when the operator stops."""
    import kopf

    problem = _registry_problem(args)
    if problem is not None:
        print(f"wasmgate run: {problem}", file=sys.stderr)
        return 2
    _export(args)
    problem = _webhook_problem() or _settings_problem()
    if problem is not None:
        print(f"wasmgate run: {problem}", file=sys.stderr)
        return 2
    _configure_logging(args.log_file, args.verbose)
    api = api_client(args.kubeconfig)
    settings = _with_verify_store_image(operator_settings.settings_from_env(), api, args)
    try:
        settings = _with_registry_cas(settings, api)
    except InvalidSpec as e:
        print(f"wasmgate run: {e.message}", file=sys.stderr)
        return 2
    importlib.import_module("wasmgate.handlers")
    runtime = Runtime(
        settings=settings,
        api=api,
        kubeconfig=args.kubeconfig,
        validation_cache=ValidationCache(settings.validation_cache_dir),
    )
    webhook = admission.AdmissionSettings.from_env()
    ready = threading.Event()
    observability.start_endpoint(
        args, ready, (webhook.listen_address, webhook.port) if webhook.enabled else None
    )
    kopf.run(
        **observability.kopf_scope(args),
        ready_flag=ready,
        standalone=args.peering is None,
        peering_name=args.peering,
        priority=_peering_priority(args),
        liveness_endpoint=args.liveness,
        settings=kopf_settings(),
        memo=runtime,
    )
    return 0
