"""The operator's kopf handlers, one module per kind, added to a registry with the settings.

`wasmgate run` builds its settings first and then calls `register_handlers`: kopf reads some
settings (the resync timer's interval, whether the webhook is served) when a handler is
registered, so registration takes them as an argument instead of reading the environment at
import. Handlers are glue: they read the object, call a pass in `wasmgate.reconcile` or a check
in `wasmgate_admission`, and write status.
"""

from __future__ import annotations

from typing import Any

import kopf

from wasmgate.runner.handlers import admission, indexes, plugins, schedulers, trust_material
from wasmgate.runner.login import connection_info
from wasmgate.runner.runtime import Runtime
from wasmgate.settings import OperatorSettings


def login(memo: Runtime, **_: Any) -> kopf.ConnectionInfo:
    return connection_info(memo.kubeconfig, memo.settings.events_namespace)


def register_handlers(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Add every handler of the operator to `registry`, as `settings` configure them."""
    kopf.on.login(registry=registry)(login)
    indexes.register(registry)
    plugins.register(registry, settings)
    trust_material.register(registry)
    schedulers.register(registry)
    admission.register(registry, settings)
