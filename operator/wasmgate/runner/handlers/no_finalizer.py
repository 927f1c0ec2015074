"""A kopf timer or daemon that puts no finalizer on the objects it runs for.

kopf makes every timer and daemon require a finalizer, so that it can stop it before the object
is gone. For WasmPlugins that costs a PATCH when each plugin is created (and a round of kopf's
processing before the first pass), another when it is deleted, and deletions that hang while no
operator runs. The plugin's resync daemon needs none of it: its pass reads the object first and
stops when the object is gone or being deleted, and the daemon returns when the watch reports
the plugin deleted (kopf itself would not stop it then: it stops daemons only for a deletion
underway, which a plugin without finalizers never shows; runner/plugin_lives.py). kopf offers no
switch for this, so the handler is replaced in the registry by a copy that does not require
one; kopf then also removes the finalizer that an older operator put on existing plugins.
tests/unit/runner/test_no_finalizer.py fails if kopf's registry stops looking the way this
expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import kopf


def release_finalizer(registry: kopf.OperatorRegistry, fn: Callable[..., Any]) -> None:
    """Make the timer(s) or daemon(s) registered with function `fn` require no finalizer."""
    spawning = registry._spawning
    handlers = spawning.get_all_handlers()
    if not any(handler.fn is fn for handler in handlers):
        raise ValueError(f"no timer or daemon of {fn.__name__} is registered")
    spawning._handlers = [
        dataclasses.replace(handler, requires_finalizer=False) if handler.fn is fn else handler
        for handler in handlers
    ]
