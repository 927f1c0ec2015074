"""The operator's API client keeps a connection per thread that may call at once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from wasmgate.runner.login import api_client
from wasmgate.runner.runtime import (
    API_CONNECTIONS,
    DEFAULT_EXECUTOR_THREADS,
    PLUGIN_PASS_THREADS,
    SCHEDULER_PASS_THREADS,
)


def _kubeconfig(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_the_pool_holds_a_connection_for_every_thread_that_calls(tmp_path: Path) -> None:
    assert (
        API_CONNECTIONS == PLUGIN_PASS_THREADS + SCHEDULER_PASS_THREADS + DEFAULT_EXECUTOR_THREADS
    )
    with api_client(_kubeconfig(tmp_path / "config"), API_CONNECTIONS) as api:
        assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == API_CONNECTIONS


def test_without_a_count_the_clients_default_stays(tmp_path: Path) -> None:
    with api_client(_kubeconfig(tmp_path / "config")) as api:
        default = multiprocessing.cpu_count() * 5  # the Kubernetes client's Configuration
        assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == default
