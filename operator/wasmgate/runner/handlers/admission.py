"""Admission webhook handlers (docs/admission.md), served by the operator's process over TLS.

The checks are pure functions in wasmgate_admission; these handlers only translate. They are
registered only when the settings serve the webhook (not `--no-webhook`): kopf refuses to start
with validating handlers and no server. The serving state (certificates, their rotation task)
belongs to one registration, made at kopf's start-up from the admission settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.plugin_json import scheduler_names
from wasmgate.runner.handlers.indexes import PLUGINS, POLICIES, SCHEDULERS, index
from wasmgate.runner.runtime import Runtime
from wasmgate.settings import OperatorSettings
from wasmgate_admission import glue
from wasmgate_admission.cluster_lookup import ClusterLookup
from wasmgate_admission.configuration import (
    WASMPLUGIN_HANDLER,
    WASMSCHEDULER_HANDLER,
    WASMTRUSTPOLICY_HANDLER,
)
from wasmgate_admission.decision import AdmissionDecision
from wasmgate_admission.indexed_lookup import ALL as EVERY
from wasmgate_admission.indexed_lookup import IndexedLookup, Review, review_confirmed
from wasmgate_admission.settings import AdmissionSettings
from wasmgate_admission.wasmplugin import review_wasmplugin
from wasmgate_admission.wasmscheduler import review_wasmscheduler
from wasmgate_admission.wasmtrustpolicy import review_wasmtrustpolicy

CERTIFICATE_CHECK_SECONDS = 6 * 3600


async def admission_secrets(
    namespace: str | None, name: str, body: Any, **_: Any
) -> dict[Any, Any]:
    return {(namespace, name): glue.plain(body.get("data") or {})}


async def admission_schedulers(name: str, **_: Any) -> dict[Any, Any]:
    return {name: True}


async def admission_scheduler_plugins(name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    # Names only, by scheduler: what the per-scheduler plugin limit needs, and small.
    if body.metadata.get("deletionTimestamp"):
        return {}
    return {scheduler: name for scheduler in scheduler_names(body)}


async def admission_policies(body: Any, **_: Any) -> dict[Any, Any]:
    return {EVERY: glue.plain(body)}


def _answer(verdict: AdmissionDecision, warnings: list[str]) -> None:
    warnings.extend(verdict.warnings)
    if not verdict.allowed:
        raise kopf.AdmissionError(verdict.message, code=glue.denial_code(verdict))


class Webhook:
    """The webhook one registration serves: prepared at kopf's start-up, released at cleanup."""

    def __init__(self, settings: AdmissionSettings) -> None:
        self.settings = settings
        self.served: glue.Served | None = None
        self.rotation: asyncio.Task[None] | None = None

    def _fresh(self) -> ClusterLookup:
        if self.served is None:
            raise kopf.AdmissionError("the webhook is still starting; retry", code=503)
        return self.served.lookup

    def _cached(self, kwargs: Mapping[str, Any]) -> IndexedLookup:
        return IndexedLookup(
            secrets=index(kwargs, "admission_secrets"),
            schedulers=index(kwargs, "admission_schedulers"),
            policies=index(kwargs, "admission_policies"),
            fallback=self._fresh(),
            scheduler_plugins=index(kwargs, "admission_scheduler_plugins"),
        )

    async def _rotate_forever(self) -> None:
        while True:
            await asyncio.sleep(CERTIFICATE_CHECK_SECONDS)
            if self.served is not None:
                self.served = await asyncio.to_thread(glue.rotate, self.served)

    async def admission_startup(
        self, settings: kopf.OperatorSettings, memo: Runtime, **_: Any
    ) -> None:
        served = await asyncio.to_thread(glue.prepare, self.settings, memo.api)
        settings.admission.server = glue.webhook_server(served)
        # Our own ValidatingWebhookConfiguration (wasmgate_admission.configuration), not kopf's.
        settings.admission.managed = None
        self.served = served
        self.rotation = asyncio.get_running_loop().create_task(self._rotate_forever())

    async def admission_cleanup(self, **_: Any) -> None:
        if self.rotation is not None:
            self.rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.rotation
        if self.served is not None:
            glue.release(self.served)

    async def _review_write(
        self, review: Review, warnings: list[str], kwargs: Mapping[str, Any]
    ) -> None:
        """Answer a CREATE or UPDATE; an update that leaves the spec alone is not reviewed."""
        request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
        if glue.spec_unchanged(request):
            return
        verdict = await review_confirmed(review, request, self._cached(kwargs), self._fresh())
        _answer(verdict, warnings)

    async def wasmplugin_admission(self, *, warnings: list[str], **kwargs: Any) -> None:
        await self._review_write(review_wasmplugin, warnings, kwargs)

    async def wasmscheduler_admission(self, *, warnings: list[str], **kwargs: Any) -> None:
        request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
        # Deletes are rare and must see plugins created a moment ago: no cache.
        _answer(await asyncio.to_thread(review_wasmscheduler, request, self._fresh()), warnings)

    async def wasmtrustpolicy_admission(self, *, warnings: list[str], **kwargs: Any) -> None:
        await self._review_write(review_wasmtrustpolicy, warnings, kwargs)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Add the webhook's indexes and handlers to `registry` when `settings.admission` serves it.

    Ids are part of the interface: an index's id (its function's name) names the keyword argument
    handlers read it from, a validating handler's id is the URL path the
    ValidatingWebhookConfiguration calls, and the start-up and cleanup methods keep the ids of
    the functions they were, which the operator's log shows.
    """
    if not settings.admission.enabled:
        return
    webhook = Webhook(settings.admission)
    kopf.index("v1", "secrets", registry=registry)(admission_secrets)
    kopf.index(GROUP, VERSION, SCHEDULERS, registry=registry)(admission_schedulers)
    kopf.index(GROUP, VERSION, PLUGINS, registry=registry)(admission_scheduler_plugins)
    kopf.index(GROUP, VERSION, POLICIES, registry=registry)(admission_policies)
    kopf.on.startup(id="admission_startup", registry=registry)(webhook.admission_startup)
    kopf.on.cleanup(id="admission_cleanup", registry=registry)(webhook.admission_cleanup)
    writes: list[kopf.Operation] = ["CREATE", "UPDATE"]
    validating: list[tuple[str, str, list[kopf.Operation], Callable[..., Any]]] = [
        (WASMPLUGIN_HANDLER, PLUGINS, writes, webhook.wasmplugin_admission),
        (WASMSCHEDULER_HANDLER, SCHEDULERS, ["DELETE"], webhook.wasmscheduler_admission),
        (WASMTRUSTPOLICY_HANDLER, POLICIES, writes, webhook.wasmtrustpolicy_admission),
    ]
    for handler_id, plural, operations, handler in validating:
        kopf.on.validate(
            GROUP,
            VERSION,
            plural,
            id=handler_id,
            operations=operations,
            ignore_failures=True,
            registry=registry,
        )(handler)
