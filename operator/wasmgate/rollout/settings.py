"""Rollout settings: where scheduler Deployments live, what they mount, when a rollout failed.

One frozen dataclass, so the operator, the kit and the tests agree on the namespace, the
store path, the labels and the thresholds without passing a dozen arguments around. The namespace
and the store path come from `wasmgate run --scheduler-namespace/--node-store` (or their
WASMGATE_* variables); the checks below name whichever of those spelt a bad value.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from wasmgate.api.formats import DNS_LABEL_PATTERN

DEFAULT_NAMESPACE = "wasmgate-system"
DEFAULT_STORE_ROOT = "/var/lib/wasmgate/store"
DEFAULT_WASMGATE_IMAGE = "ghcr.io/wasmgate/wasmgate:v0.1.0"
DEFAULT_SECURE_PORT = 10259
DEFAULT_MIN_READY_SECONDS = 5
DEFAULT_CRASH_RESTARTS = 2
DEFAULT_RUN_AS_USER = 65532
DEFAULT_BATCH_SECONDS = 30.0
MAX_NAMESPACE_LENGTH = 63
# The store path is written into file:// guest URLs, a hostPath and the admission policy's CEL
# string literal: characters that need escaping in any of them are refused, not escaped.
_STORE_ROOT_PATTERN = "^/[A-Za-z0-9._/-]*$"


def check_namespace(namespace: str, source: str) -> str:
    """`namespace` if it can hold scheduler objects; ValueError naming `source` and the fix."""
    if len(namespace) > MAX_NAMESPACE_LENGTH or not re.fullmatch(DNS_LABEL_PATTERN, namespace):
        raise ValueError(
            f'{source}: "{namespace}" is not a namespace name: a DNS-1123 label has at most '
            f"{MAX_NAMESPACE_LENGTH} characters a-z, 0-9 and '-', starting and ending with a "
            "letter or digit; give the namespace wasmgate is installed in, e.g. "
            f"{source}={DEFAULT_NAMESPACE}"
        )
    return namespace


def check_store_root(store_root: str, source: str) -> str:
    """`store_root` if scheduler pods can mount it; ValueError naming `source` and the fix."""
    clean = posixpath.normpath("/" + store_root.lstrip("/"))
    fix = f"e.g. {source}={DEFAULT_STORE_ROOT}"
    if not store_root.startswith("/"):
        problem = "is not an absolute path; give the directory the node agents store blobs in"
    elif clean == "/":
        problem = "is the node's root directory; give the store a directory of its own"
    elif clean != store_root:
        problem = "is not normalized; give it as the agents get it in --store"
        fix = f"{source}={clean}"
    elif not re.fullmatch(_STORE_ROOT_PATTERN, store_root):
        problem = (
            "has characters other than letters, digits, '.', '_', '-' and '/'; scheduler pods "
            "load plugins from file:// URLs under it"
        )
    else:
        return store_root
    raise ValueError(f'{source}: "{store_root}" {problem} ({fix})')


@dataclass(frozen=True)
class RolloutConfig:
    """How wasmgate renders and judges scheduler Deployments."""

    namespace: str = DEFAULT_NAMESPACE
    """Namespace of scheduler Deployments, ConfigMaps, ServiceAccounts and leases: the one
    wasmgate is installed in. Default wasmgate-system."""
    store_root: str = DEFAULT_STORE_ROOT
    """Node store directory (hostPath, the agents' --store) the scheduler loads plugins from.
    Default /var/lib/wasmgate/store (design §6)."""
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
    batch_seconds: float = DEFAULT_BATCH_SECONDS
    """Longest a ready plugin change waits for others of its scheduler still in the pipeline,
    so that a burst rolls out as one revision (rollout.batching); 0 rolls each change at once."""

    def __post_init__(self) -> None:
        check_namespace(self.namespace, "RolloutConfig.namespace")
        check_store_root(self.store_root, "RolloutConfig.store_root")
