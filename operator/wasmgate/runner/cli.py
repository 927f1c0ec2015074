"""`wasmgate run`: the operator as a local process or in a Pod.

This module starts kopf: settings come from run_settings.py (flags laid over the environment,
checked before kopf starts), handlers are added to a registry of this process with those settings
(handlers/), and kopf runs that registry. Kopf watches cluster-wide (namespaced kinds only in
`--namespace`, see observability.py); peering is off unless `--peering` names a
ClusterKopfPeering, or with `--namespace` a KopfPeering there (run one replica, or give every
replica the same peering name). The admission webhook is served by the same process unless
`--no-webhook`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wasmgate.errors import InvalidSpec
from wasmgate.runner import glibc_heap, observability, run_settings
from wasmgate.runner.flags import add_arguments
from wasmgate.runner.free_memory_watch import FreeMemoryWatch
from wasmgate.runner.handlers import register_handlers
from wasmgate.runner.handlers.schedulers import WAKE_UP_PREFIX
from wasmgate.runner.kopf_settings import kopf_settings
from wasmgate.runner.login import api_client
from wasmgate.runner.runtime import API_CONNECTIONS, DEFAULT_EXECUTOR_THREADS, Runtime
from wasmgate.validate.cache import ValidationCache

__all__ = ["add_arguments", "run"]

LOG = logging.getLogger(__name__)
# Replicas draw their peering priority from 1..2**31-1: a tie (both freeze) is a one in two
# billion chance per pair.
MAX_PRIORITY = 2**31 - 1
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
        record.levelno < logging.WARNING
        and str(record.msg).startswith(f"Handler '{WAKE_UP_PREFIX}")
    )


def _peering_priority(args: argparse.Namespace) -> int | None:
    if args.peering is None:
        return None
    priority: int = (
        args.priority if args.priority is not None else secrets.randbelow(MAX_PRIORITY) + 1
    )
    LOG.info("peering %s with priority %d", args.peering, priority)
    return priority


def _watch_free_memory() -> None:
    """Return freed memory to the system while the operator runs (runner/free_memory_watch.py)."""
    if os.environ.get("PYTHONMALLOC") != "malloc":
        LOG.info(
            "PYTHONMALLOC is not malloc: memory freed after a burst of plugins stays with the"
            " process (CPython's own allocator keeps it); the image sets PYTHONMALLOC=malloc"
        )
    heap = glibc_heap.load()
    if heap is not None:
        FreeMemoryWatch(heap).start()


async def _with_small_default_executor(kopf_operator: Coroutine[Any, Any, None]) -> None:
    """Run kopf with a small default executor (runtime.DEFAULT_EXECUTOR_THREADS says why);
    plugin passes have Runtime.plugin_passes."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(DEFAULT_EXECUTOR_THREADS, thread_name_prefix="asyncio")
    )
    await kopf_operator


def run(args: argparse.Namespace) -> int:
    """Start kopf with the operator's handlers; returns when the operator stops."""
    import kopf

    try:
        settings = run_settings.checked_settings(args, os.environ)
    except run_settings.Refused as e:
        print(f"wasmgate run: {e}", file=sys.stderr)
        return 2
    _configure_logging(args.log_file, args.verbose)
    warning = run_settings.scheduler_namespace_warning(settings, os.environ)
    if warning is not None:
        LOG.warning("%s", warning)
    api = api_client(args.kubeconfig, API_CONNECTIONS)
    settings = run_settings.with_verify_store_image(settings, api, args, os.environ)
    try:
        reference = run_settings.registry_ca_reference(args, os.environ)
        settings = run_settings.with_registry_cas(settings, api, reference)
    except InvalidSpec as e:
        print(f"wasmgate run: {e.message}", file=sys.stderr)
        return 2
    registry = kopf.OperatorRegistry()
    register_handlers(registry, settings)
    runtime = Runtime(
        settings=settings,
        api=api,
        kubeconfig=args.kubeconfig,
        validation_cache=ValidationCache(settings.validation_cache_dir),
    )
    _watch_free_memory()
    webhook = settings.admission
    ready = threading.Event()
    observability.start_endpoint(
        args, ready, (webhook.listen_address, webhook.port) if webhook.enabled else None
    )
    kopf_operator = kopf.operator(
        **observability.kopf_scope(args),
        registry=registry,
        ready_flag=ready,
        standalone=args.peering is None,
        peering_name=args.peering,
        priority=_peering_priority(args),
        liveness_endpoint=args.liveness,
        settings=kopf_settings(runtime.plugin_passes),
        memo=runtime,
    )
    with contextlib.suppress(asyncio.CancelledError):  # as kopf.run
        asyncio.run(_with_small_default_executor(kopf_operator))
    return 0
