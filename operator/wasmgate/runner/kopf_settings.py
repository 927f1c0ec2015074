"""How kopf itself behaves inside wasmgate: where it keeps progress, what it posts as Events.

Progress and the diff base live in annotations under kopf.wasmgate.dev: our CRDs have structural
schemas, so kopf's default `status.kopf` would be pruned by the apiserver. The prefix must differ
from wasmgate.dev: kopf hides every annotation under its storage prefix from change detection,
which would hide our own trigger annotation `wasmgate.dev/reconcile-requested`. Kopf's own
per-handler Events are limited to warnings; stage transitions are posted by the handlers with
their reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any, cast

import kopf

from wasmgate.reconcile.plugin_pass import INPUTS_ANNOTATION

ANNOTATION_PREFIX = "kopf.wasmgate.dev"


class DiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Kopf's diff base without our stage-inputs annotation.

    The pipeline rewrites that annotation after each pass; were it part of the essence, kopf
    would see an unhandled change after every pass and, on restart, treat every plugin as
    changed and rewrite its own annotations, so a resumed operator would write to every object.
    """

    def build(
        self,
        *,
        body: kopf.Body,
        extra_fields: Iterable[kopf.FieldSpec] | None = None,
    ) -> kopf.BodyEssence:
        fields = list(extra_fields or [])
        if not fields:
            # Kopf deep-copies the whole body and then drops status and most of metadata: a
            # plugin's status (validation report, conditions, staging) was most of that copy,
            # on every event. Hand it only what the essence keeps.
            body = kopf.Body(cast(kopf.RawBody, _essential(body)))
        essence = super().build(body=body, extra_fields=fields)
        self.remove_annotations(essence, {INPUTS_ANNOTATION})
        self.remove_empty_stanzas(essence)
        return essence


def _essential(body: kopf.Body) -> dict[str, Any]:
    """The body without status and with only the metadata an essence keeps (a shallow copy)."""
    metadata = body.get("metadata") or {}
    kept = {
        key: metadata[key]
        for key in ("labels", "annotations", "ownerReferences")
        if key in metadata
    }
    return {
        **{key: value for key, value in body.items() if key not in ("status", "metadata")},
        "metadata": kept,
    }


def kopf_settings(handler_threads: Executor) -> kopf.OperatorSettings:
    """Kopf settings for the wasmgate operator; sync handlers (plugin passes) run in
    `handler_threads`."""
    settings = kopf.OperatorSettings()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = DiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    # Sync handlers (the plugin passes) run in Runtime.plugin_passes, whose threads end when
    # idle; kopf's own pool would keep a burst's threads for good. WasmScheduler passes run in
    # threads of their own (Runtime.scheduler_passes).
    settings.execution.executor = handler_threads
    # Stop watching quickly on SIGTERM; a pass interrupted midway is resumed from status.
    settings.process.ultimate_exiting_timeout = 10.0
    return settings
