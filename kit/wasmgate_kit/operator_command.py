"""The `wasmgate run` command line the kit, the e2e tests and the benchmark start the operator with.

One place says how wasmgate runs next to the kit's apiserver: the kit's registries over plain
HTTP, and the admission webhook on a loopback port (the apiserver runs on the same machine) with
its certificates under a directory the caller owns. Everything runs the real `wasmgate run`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from wasmgate_kit.net import free_port

FREE_PORT = 0
IMAGE_ENVIRONMENT = {"PYTHONMALLOC": "malloc"}
"""What the image's Containerfile sets for every wasmgate command and the kit's host processes
repeat: Python's objects in glibc's heap, which the operator trims (runner/free_memory_watch.py)."""


def wasmgate_environment() -> dict[str, str]:
    """The environment of a wasmgate process the kit starts: this one's, as the image sets it."""
    return {**os.environ, **IMAGE_ENVIRONMENT}


def operator_argv(
    kubeconfig: Path,
    *,
    plain_http: Iterable[str] = (),
    webhook_port: int | None,
    webhook_cert_dir: Path | None = None,
    extra: Iterable[str] = (),
) -> list[str]:
    """argv of `python -m wasmgate run`; `webhook_port=None` runs it with `--no-webhook`,
    FREE_PORT picks a free loopback port now (kopf's own random port would change on every
    certificate reload, and the webhook configuration names one port)."""
    argv = [sys.executable, "-m", "wasmgate", "run", f"--kubeconfig={kubeconfig}"]
    argv += [f"--plain-http-registry={host}" for host in plain_http]
    if webhook_port is None:
        argv.append("--no-webhook")
    else:
        port = free_port() if webhook_port == FREE_PORT else webhook_port
        argv += ["--webhook-host=127.0.0.1", f"--webhook-port={port}"]
        if webhook_cert_dir is not None:
            argv.append(f"--webhook-cert-dir={webhook_cert_dir}")
    return argv + list(extra)
