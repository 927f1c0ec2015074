"""Rollout settings: where scheduler Deployments live, what they mount, when a rollout failed.

One frozen dataclass, so the operator, the kit and the tests agree on the namespace, the
store path, the labels and the thresholds without passing a dozen arguments around.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NAMESPACE = "wasmgate-system"
DEFAULT_STORE_ROOT = "/var/lib/wasmgate/store"
DEFAULT_WASMGATE_IMAGE = "ghcr.io/wasmgate/wasmgate:v0.1.0"
DEFAULT_SECURE_PORT = 10259
DEFAULT_MIN_READY_SECONDS = 5
DEFAULT_CRASH_RESTARTS = 2
DEFAULT_RUN_AS_USER = 65532


@dataclass(frozen=True)
class RolloutConfig:
    """How wasmgate renders and judges scheduler Deployments."""

    namespace: str = DEFAULT_NAMESPACE
    """Namespace of scheduler Deployments, ConfigMaps, ServiceAccounts and leases."""
    store_root: str = DEFAULT_STORE_ROOT
    """Node store directory (hostPath) the scheduler loads plugins from; default as design §6."""
    wasmgate_image: str = DEFAULT_WASMGATE_IMAGE
    """Image of the `wasmgate verify-store` init container."""
    secure_port: int = DEFAULT_SECURE_PORT
    """Scheduler HTTPS port for /healthz, /readyz and metrics (kube-scheduler's default)."""
    min_ready_seconds: int = DEFAULT_MIN_READY_SECONDS
    """Seconds a new scheduler pod must stay Ready before it counts as available."""
    crash_restarts: int = DEFAULT_CRASH_RESTARTS
    """Container restarts of a new-revision pod that fail the rollout at once (crash loop)."""
    run_as_user: int = DEFAULT_RUN_AS_USER
    """Non-root UID of the scheduler and init containers (distroless `nonroot`)."""
