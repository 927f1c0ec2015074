"""The settings of `wasmgate run`: its flags laid over the WASMGATE_* environment, parsed once.

A flag and its variable are two spellings of one input, so the environment works as well as the
flags: a flag replaces its variable, a repeatable flag adds to its comma-separated variable. The
merged inputs are a private copy, parsed by the functions that document the variables
(`settings_from_env`, which reads the webhook's through `AdmissionSettings.from_env`), so a value
means the same either way and an error names the variable. Nothing is written back to
`os.environ`: the handlers receive the parsed `OperatorSettings`. Everything is checked before
kopf starts, so a cert dir on a read-only filesystem is a clear error instead of a start-up loop.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from dataclasses import replace

from kubernetes.client import ApiClient

from wasmgate import proxy_flags, registry_ca_flag
from wasmgate import settings as operator_settings
from wasmgate.errors import InvalidSpec
from wasmgate.oci.mirror import parse_mirrors
from wasmgate.rollout.settings import check_namespace, check_store_root
from wasmgate.runner.own_image import ENV_POD_NAMESPACE, own_image
from wasmgate.settings import OperatorSettings
from wasmgate_admission import glue
from wasmgate_admission import settings as admission

LOG = logging.getLogger(__name__)

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


class Refused(Exception):
    """Why `wasmgate run` cannot start with these flags and this environment."""


def checked_settings(args: argparse.Namespace, env: Mapping[str, str]) -> OperatorSettings:
    """The settings of `args` over `env`; Refused with the message to print when they cannot
    work. Creates the webhook's cert dir if it is missing."""
    problem = flag_problem(args)
    if problem is not None:
        raise Refused(problem)
    try:
        settings = settings_from_args(args, env)
    except InvalidSpec as e:
        raise Refused(e.message) from e
    except ValueError as e:
        raise Refused(str(e)) from e
    problem = webhook_problem(settings.admission)
    if problem is not None:
        raise Refused(problem)
    return settings


def flag_problem(args: argparse.Namespace) -> str | None:
    """A malformed registry or scheduler flag, named before it is mixed with the environment's
    values."""
    try:
        parse_mirrors(args.registry_mirror, "--registry-mirror")
        if args.registry_ca_configmap is not None:
            registry_ca_flag.parse_reference(args.registry_ca_configmap)
        proxy_flags.check_flags(args.https_proxy, args.no_proxy)
    except InvalidSpec as e:
        return e.message
    try:
        if args.scheduler_namespace is not None:
            check_namespace(args.scheduler_namespace, "--scheduler-namespace")
        if args.node_store is not None:
            check_store_root(args.node_store, "--node-store")
    except ValueError as e:
        return str(e)
    batch = args.rollout_batch_seconds
    if batch is not None and batch < 0:
        return (
            f"--rollout-batch-seconds: {batch:g} is negative; give 0 to roll out each plugin "
            "change at once, or the seconds a change may wait for the rest of its burst"
        )
    return None


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> OperatorSettings:
    """The settings `args` and `env` say together; InvalidSpec or ValueError naming a bad one."""
    return operator_settings.settings_from_env(_inputs(args, env))


def _inputs(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    inputs = dict(env)
    if args.namespace_for_events:
        inputs[operator_settings.ENV_EVENTS_NAMESPACE] = args.namespace_for_events
    if args.resync_seconds is not None:
        inputs[operator_settings.ENV_RESYNC_SECONDS] = str(args.resync_seconds)
    _add(inputs, operator_settings.ENV_PLAIN_HTTP_REGISTRIES, args.plain_http_registry)
    _add(inputs, operator_settings.ENV_REGISTRY_MIRRORS, args.registry_mirror)
    if args.https_proxy:
        inputs[proxy_flags.ENV] = args.https_proxy
    if args.no_proxy is not None:
        inputs[proxy_flags.NO_PROXY_ENV] = args.no_proxy
    if args.scheduler_namespace is not None:
        inputs[operator_settings.ENV_SCHEDULER_NAMESPACE] = args.scheduler_namespace
    if args.node_store is not None:
        inputs[operator_settings.ENV_NODE_STORE] = args.node_store
    if args.rollout_batch_seconds is not None:
        inputs[operator_settings.ENV_ROLLOUT_BATCH_SECONDS] = str(args.rollout_batch_seconds)
    if args.validation_cache_dir is not None:
        inputs[operator_settings.ENV_VALIDATION_CACHE_DIR] = str(args.validation_cache_dir)
    if args.no_webhook:
        inputs[admission.ENV_ENABLED] = "off"
    for flag, variable in _WEBHOOK_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            inputs[variable] = str(value)
    return inputs


def _add(inputs: dict[str, str], variable: str, values: list[str]) -> None:
    """Append repeated flag values to a comma-separated variable."""
    if values:
        known = [item for item in inputs.get(variable, "").split(",") if item]
        inputs[variable] = ",".join(known + values)


def webhook_problem(settings: admission.AdmissionSettings) -> str | None:
    """Why a served webhook's cert dir cannot work; None when it can (or is not needed)."""
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


def scheduler_namespace_warning(settings: OperatorSettings, env: Mapping[str, str]) -> str | None:
    """Why scheduler rollouts will be forbidden: this Pod (POD_NAMESPACE, the downward API) runs
    outside the namespace scheduler objects go to, and deploy/ and the chart grant the operator
    Deployments, ConfigMaps and the scheduler's ServiceAccount in its own namespace only. None
    when they agree, or outside a Pod. A warning, not a refusal: custom RBAC may allow it."""
    own, wanted = env.get(ENV_POD_NAMESPACE), settings.rollout.namespace
    if not own or own == wanted:
        return None
    return (
        f"scheduler Deployments go to namespace {wanted}, but this operator runs in {own}, where "
        "the RBAC of deploy/ and of the Helm chart lets it write them; set "
        f"--scheduler-namespace={own} (the chart's `namespace` value does), or grant the "
        f"operator's Role in {wanted}"
    )


def with_verify_store_image(
    settings: OperatorSettings, api: ApiClient, args: argparse.Namespace, env: Mapping[str, str]
) -> OperatorSettings:
    """`settings` with the scheduler pods' verify-store image: the flag's, else this Pod's."""
    image = args.verify_store_image or own_image(api, env)
    if image is None:
        return settings
    LOG.info("scheduler pods verify their store with %s", image)
    return replace(settings, rollout=replace(settings.rollout, wasmgate_image=image))


def registry_ca_reference(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    """The ConfigMap of registry CAs: the flag's, else its variable's; None for neither."""
    if args.registry_ca_configmap is not None:
        reference: str | None = args.registry_ca_configmap
    else:
        reference = env.get(registry_ca_flag.ENV)
    return reference or None


def with_registry_cas(
    settings: OperatorSettings, api: ApiClient, reference: str | None
) -> OperatorSettings:
    """`settings` with the CA bundles of ConfigMap `reference`; InvalidSpec naming what is wrong."""
    if reference is None:
        return settings
    registry = registry_ca_flag.with_registry_cas(settings.registry, api, reference)
    LOG.info(
        "registry CAs from ConfigMap %s: every registry %s, per registry %s",
        reference,
        "yes" if registry.default_ca_bundle else "no",
        ", ".join(sorted(registry.ca_bundles)) or "none",
    )
    return replace(settings, registry=registry)
