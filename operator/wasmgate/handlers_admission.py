"""Kopf registrations of the admission webhook, waiting to be merged into handlers.py.

handlers.py is the only module meant to import kopf decorators; it did not exist yet when the
webhook was written, so this section lives here and moves there verbatim. The checks themselves
are pure functions in wasmgate_admission; these handlers only translate.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import kopf

from wasmgate.api.base import GROUP, VERSION

# --- admission ---
from wasmgate_admission import glue
from wasmgate_admission.cluster_lookup import ClusterLookup
from wasmgate_admission.configuration import (
    WASMPLUGIN_HANDLER,
    WASMSCHEDULER_HANDLER,
    WASMTRUSTPOLICY_HANDLER,
)
from wasmgate_admission.indexed_lookup import ALL, IndexedLookup, review_confirmed
from wasmgate_admission.settings import AdmissionSettings
from wasmgate_admission.verdict import Verdict
from wasmgate_admission.wasmplugin import review_wasmplugin
from wasmgate_admission.wasmscheduler import review_wasmscheduler
from wasmgate_admission.wasmtrustpolicy import review_wasmtrustpolicy

CERTIFICATE_CHECK_SECONDS = 6 * 3600
_served: glue.Served | None = None
_rotation: asyncio.Task[None] | None = None


def _answer(verdict: Verdict, warnings: list[str]) -> None:
    warnings.extend(verdict.warnings)
    if not verdict.allowed:
        raise kopf.AdmissionError(verdict.message, code=glue.denial_code(verdict))


def _fresh() -> ClusterLookup:
    if _served is None:
        raise kopf.AdmissionError("the webhook is still starting; retry", code=503)
    return _served.lookup


def _cached(kwargs: dict[str, Any]) -> IndexedLookup:
    return IndexedLookup(
        secrets=kwargs["admission_secrets"],
        schedulers=kwargs["admission_schedulers"],
        policies=kwargs["admission_policies"],
        plugins=kwargs["admission_plugins"],
        fallback=_fresh(),
    )


@kopf.index("v1", "secrets")
def admission_secrets(namespace: str | None, name: str, body: Any, **_: Any) -> dict[Any, Any]:
    return {(namespace, name): glue.plain(body.get("data") or {})}


@kopf.index(GROUP, VERSION, "wasmschedulers")
def admission_schedulers(name: str, **_: Any) -> dict[Any, Any]:
    return {name: True}


@kopf.index(GROUP, VERSION, "wasmtrustpolicies")
def admission_policies(body: Any, **_: Any) -> dict[Any, Any]:
    return {ALL: glue.plain(body)}


@kopf.index(GROUP, VERSION, "wasmplugins")
def admission_plugins(body: Any, **_: Any) -> dict[Any, Any]:
    return {ALL: glue.plain(body)}


async def _rotate_forever() -> None:
    global _served
    while True:
        await asyncio.sleep(CERTIFICATE_CHECK_SECONDS)
        if _served is not None:
            _served = await asyncio.to_thread(glue.rotate, _served)


@kopf.on.startup()
async def admission_startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    global _served, _rotation
    served = await asyncio.to_thread(glue.prepare, AdmissionSettings.from_env())
    settings.admission.server = kopf.WebhookServer(
        addr=served.settings.address,
        port=served.settings.port,
        host=served.settings.address,
        certfile=str(served.certificates.cert),
        pkeyfile=str(served.certificates.key),
        cafile=str(served.certificates.ca),
    )
    # Our own ValidatingWebhookConfiguration (wasmgate_admission.configuration), not kopf's.
    settings.admission.managed = None
    _served = served
    _rotation = asyncio.get_running_loop().create_task(_rotate_forever())


@kopf.on.cleanup()
async def admission_cleanup(**_: Any) -> None:
    if _rotation is not None:
        _rotation.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _rotation


@kopf.on.validate(
    GROUP,
    VERSION,
    "wasmplugins",
    id=WASMPLUGIN_HANDLER,
    operations=["CREATE", "UPDATE"],
    ignore_failures=True,
)
async def wasmplugin_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    verdict = await review_confirmed(review_wasmplugin, request, _cached(kwargs), _fresh())
    _answer(verdict, warnings)


@kopf.on.validate(
    GROUP,
    VERSION,
    "wasmschedulers",
    id=WASMSCHEDULER_HANDLER,
    operations=["DELETE"],
    ignore_failures=True,
)
async def wasmscheduler_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    # Deletes are rare and must see plugins created a moment ago: no cache.
    _answer(await asyncio.to_thread(review_wasmscheduler, request, _fresh()), warnings)


@kopf.on.validate(
    GROUP,
    VERSION,
    "wasmtrustpolicies",
    id=WASMTRUSTPOLICY_HANDLER,
    operations=["CREATE", "UPDATE"],
    ignore_failures=True,
)
async def wasmtrustpolicy_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    verdict = await review_confirmed(review_wasmtrustpolicy, request, _cached(kwargs), _fresh())
    _answer(verdict, warnings)
