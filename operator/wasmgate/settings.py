"""Operator settings: how often to re-resolve, how to back off, where registries and caches are.

One frozen dataclass per concern, read once at start-up (environment first, then `wasmgate run`
flags), so a reconcile can never see settings change under it. Every field names its unit and
default; defaults are the constants below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wasmgate.oci.mirror import parse_mirrors
from wasmgate.oci.settings import RegistrySettings
from wasmgate.proxy_flags import proxy_from
from wasmgate.rollout.settings import (
    DEFAULT_BATCH_SECONDS,
    DEFAULT_NAMESPACE,
    DEFAULT_STORE_ROOT,
    RolloutConfig,
    check_namespace,
    check_store_root,
)
from wasmgate.trust.settings import TrustSettings
from wasmgate_admission.settings import AdmissionSettings

DEFAULT_RESYNC_SECONDS = 300.0
DEFAULT_RETRY_BASE_SECONDS = 5.0
DEFAULT_RETRY_MAX_SECONDS = 300.0
DEFAULT_EVENTS_NAMESPACE = "default"

ENV_RESYNC_SECONDS = "WASMGATE_RESYNC_SECONDS"
ENV_RETRY_BASE_SECONDS = "WASMGATE_RETRY_BASE_SECONDS"
ENV_RETRY_MAX_SECONDS = "WASMGATE_RETRY_MAX_SECONDS"
ENV_PLAIN_HTTP_REGISTRIES = "WASMGATE_PLAIN_HTTP_REGISTRIES"
ENV_REGISTRY_MIRRORS = "WASMGATE_REGISTRY_MIRRORS"
ENV_VALIDATION_CACHE_DIR = "WASMGATE_VALIDATION_CACHE_DIR"
ENV_WORK_DIR = "WASMGATE_WORK_DIR"
ENV_EVENTS_NAMESPACE = "WASMGATE_EVENTS_NAMESPACE"
ENV_SCHEDULER_NAMESPACE = "WASMGATE_SCHEDULER_NAMESPACE"
ENV_NODE_STORE = "WASMGATE_NODE_STORE"
ENV_ROLLOUT_BATCH_SECONDS = "WASMGATE_ROLLOUT_BATCH_SECONDS"


@dataclass(frozen=True)
class ReconcileSettings:
    """Timing of the WasmPlugin pipeline."""

    resync_seconds: float = DEFAULT_RESYNC_SECONDS
    """Seconds between periodic passes over every plugin (re-resolving `pullPolicy: Always`
    tags, re-checking trust material). Default 300."""
    retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS
    """First wait after a temporary failure (registry down), doubled per retry. Default 5."""
    retry_max_seconds: float = DEFAULT_RETRY_MAX_SECONDS
    """Longest wait between retries of a temporary failure. Default 300."""

    def __post_init__(self) -> None:
        for name in ("resync_seconds", "retry_base_seconds", "retry_max_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ReconcileSettings.{name} must be positive")

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        return min(self.retry_base_seconds * 2.0 ** min(retry, 32), self.retry_max_seconds)


@dataclass(frozen=True)
class OperatorSettings:
    """Everything `wasmgate run` needs besides the cluster credentials."""

    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    """Resync interval and retry backoff."""
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    """Transport, plain-HTTP allow list and caps of registry requests."""
    trust: TrustSettings = field(default_factory=TrustSettings)
    """Caps on signatures examined."""
    validation_cache_dir: Path | None = None
    """Directory of cached validation reports, kept across restarts. Default: memory only."""
    work_dir: Path | None = None
    """Where fetched modules are written before validation. Default: the system temp dir."""
    events_namespace: str = DEFAULT_EVENTS_NAMESPACE
    """Namespace of Events about cluster-scoped wasmgate objects. Default "default", where
    `kubectl describe` looks for them."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """Namespace, store path and thresholds of scheduler Deployments. Default: wasmgate-system
    and /var/lib/wasmgate/store."""
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    """Whether and where the admission webhook is served. Default: served on 127.0.0.1:9443."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as e:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from e
    return value


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def _rollout(env: Mapping[str, str]) -> RolloutConfig:
    namespace = env.get(ENV_SCHEDULER_NAMESPACE) or DEFAULT_NAMESPACE
    store_root = env.get(ENV_NODE_STORE) or DEFAULT_STORE_ROOT
    batch_seconds = _float(env, ENV_ROLLOUT_BATCH_SECONDS, DEFAULT_BATCH_SECONDS)
    if batch_seconds < 0:
        raise ValueError(
            f"{ENV_ROLLOUT_BATCH_SECONDS}={batch_seconds:g} is negative; give 0 to roll out "
            f"each plugin change at once, or seconds to wait (default {DEFAULT_BATCH_SECONDS:g})"
        )
    return RolloutConfig(
        namespace=check_namespace(namespace, ENV_SCHEDULER_NAMESPACE),
        store_root=check_store_root(store_root, ENV_NODE_STORE),
        batch_seconds=batch_seconds,
    )


def settings_from_env(env: Mapping[str, str] | None = None) -> OperatorSettings:
    """Settings from WASMGATE_* variables; unset variables keep the defaults. A malformed
    WASMGATE_REGISTRY_MIRRORS or proxy variable raises InvalidSpec naming it and the fix, any
    other malformed variable ValueError naming it (the webhook's are read first)."""
    env = os.environ if env is None else env
    admission = AdmissionSettings.from_env(env)
    plain_http = frozenset(_list(env, ENV_PLAIN_HTTP_REGISTRIES))
    return OperatorSettings(
        reconcile=ReconcileSettings(
            resync_seconds=_float(env, ENV_RESYNC_SECONDS, DEFAULT_RESYNC_SECONDS),
            retry_base_seconds=_float(env, ENV_RETRY_BASE_SECONDS, DEFAULT_RETRY_BASE_SECONDS),
            retry_max_seconds=_float(env, ENV_RETRY_MAX_SECONDS, DEFAULT_RETRY_MAX_SECONDS),
        ),
        registry=RegistrySettings(
            plain_http=plain_http,
            mirrors=parse_mirrors(_list(env, ENV_REGISTRY_MIRRORS), ENV_REGISTRY_MIRRORS),
            proxy=proxy_from(env),
        ),
        validation_cache_dir=_path(env, ENV_VALIDATION_CACHE_DIR),
        work_dir=_path(env, ENV_WORK_DIR),
        events_namespace=env.get(ENV_EVENTS_NAMESPACE) or DEFAULT_EVENTS_NAMESPACE,
        rollout=_rollout(env),
        admission=admission,
    )
