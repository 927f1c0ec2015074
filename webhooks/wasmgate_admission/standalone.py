"""Run only the admission webhook, as its own kopf process, for tests and the benchmark.

The operator serves the webhook from its own process; until `wasmgate run` exists, and for
measuring admission alone, this starts kopf with just the admission handlers against a cluster.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wasmgate.kit.process import ManagedProcess

HANDLERS_MODULE = "wasmgate.handlers_admission"


def webhook_process(
    *,
    kubeconfig: Path,
    port: int,
    cert_dir: Path,
    log_path: Path,
    configuration_name: str,
) -> ManagedProcess:
    """A not yet started kopf process serving the webhook on https://127.0.0.1:<port>."""
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "WASMGATE_WEBHOOK_PORT": str(port),
        "WASMGATE_WEBHOOK_CERT_DIR": str(cert_dir),
        "WASMGATE_WEBHOOK_CONFIGURATION": configuration_name,
    }
    argv = [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        "--all-namespaces",
        "-m",
        HANDLERS_MODULE,
    ]
    return ManagedProcess("wasmgate-admission", argv, log_path, env=env)
