"""What the kopf handlers of admission share: request shape, answers and the served settings.

The kopf registrations (wasmgate.runner.handlers.admission) must stay glue; the pieces here
turn kopf's keyword arguments into the AdmissionReview request the pure checks read, an
AdmissionDecision back into kopf's warnings list and the denial exception the caller raises, and
set up what the webhook serves with: certificates, the ValidatingWebhookConfiguration and kopf's
WebhookServer.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate_admission import shared_ca
from wasmgate_admission.certificates import Certificates, ensure_certificates
from wasmgate_admission.cluster import apply_configuration
from wasmgate_admission.cluster_lookup import ClusterLookup
from wasmgate_admission.configuration import build_validating_webhook_configuration
from wasmgate_admission.decision import AdmissionDecision
from wasmgate_admission.settings import AdmissionSettings

FORBIDDEN = 403
UNPROCESSABLE = 422
_FORBIDDEN_REASONS = frozenset({"PolicyViolation", "SchedulerInUse"})
TEMPORARY_PREFIX = "wasmgate-webhook-"
SHARED_CA_ATTEMPTS = 3

logger = logging.getLogger(__name__)


def plain(value: Any) -> Any:
    """Deep copy of kopf's Body views as plain dicts and lists (pydantic wants real dicts)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def request(operation: str | None, new: Any, old: Any) -> dict[str, Any]:
    """The AdmissionReview `request` fields the checks read."""
    return {
        "operation": operation,
        "object": plain(new) if new is not None else None,
        "oldObject": plain(old) if old is not None else None,
    }


def spec_unchanged(request: Mapping[str, Any]) -> bool:
    """An UPDATE that leaves the spec alone (metadata, finalizers, annotations): nothing to
    review, and refusing it would keep an object admitted while the webhook was down from being
    updated or even deleted (its finalizer could not be removed)."""
    if request.get("operation") != "UPDATE":
        return False
    new, old = request.get("object") or {}, request.get("oldObject") or {}
    return bool(new.get("spec") == old.get("spec"))


def denial_code(verdict: AdmissionDecision) -> int:
    """HTTP code of a denial: 403 for policy refusals, 422 for specs that cannot work."""
    return FORBIDDEN if verdict.reason in _FORBIDDEN_REASONS else UNPROCESSABLE


@dataclass
class Served:
    """What the running webhook uses: its settings, certificates and cluster reader."""

    settings: AdmissionSettings
    cert_dir: Path
    """Where the certificates are: settings.cert_dir, or a private temporary directory."""
    temporary: bool
    """Whether cert_dir was made for this process (and is removed when it stops)."""
    certificates: Certificates
    api: client.ApiClient
    lookup: ClusterLookup


def _apply(served: Served) -> None:
    settings = served.settings
    outcome = apply_configuration(
        served.api,
        build_validating_webhook_configuration(
            name=settings.configuration_name,
            url=None if settings.service else settings.url,
            service=settings.service,
            ca_pem=served.certificates.ca.read_bytes(),
            failure_policy=settings.failure_policy,
            timeout_seconds=settings.timeout_seconds,
        ),
    )
    logger.info(
        "ValidatingWebhookConfiguration %s %s (failurePolicy %s, timeout %d s)",
        settings.configuration_name,
        outcome,
        settings.failure_policy,
        settings.timeout_seconds,
    )


def prepare(settings: AdmissionSettings, api: client.ApiClient) -> Served:
    """Create or renew certificates, apply the webhook configuration, build the reader.

    `api` is the operator's client: the webhook uses the credentials `wasmgate run` was given.
    """
    temporary = settings.cert_dir is None
    cert_dir = settings.cert_dir or Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
    if settings.external_certs:
        served = Served(settings, cert_dir, False, mounted(cert_dir), api, ClusterLookup(api))
        logger.info(
            "webhook certificates in %s and the caBundle of %s are managed by someone else",
            cert_dir,
            settings.configuration_name,
        )
        return served
    try:
        certificates = _certificates(settings, cert_dir, api)
    except OSError as e:
        raise kopf.PermanentError(
            f"cannot write the webhook certificates in {cert_dir} ({e.strerror}); give "
            "--webhook-cert-dir a writable directory (a volume under a read-only root "
            "filesystem), or run with --no-webhook"
        ) from e
    served = Served(settings, cert_dir, temporary, certificates, api, ClusterLookup(api))
    _apply(served)
    return served


def _certificates(
    settings: AdmissionSettings, cert_dir: Path, api: client.ApiClient
) -> Certificates:
    """Create or renew the certificates; with a shared CA Secret, adopt or publish its CA."""
    hosts = settings.certificate_hosts
    if settings.ca_secret is None:
        return ensure_certificates(cert_dir, hosts)
    ref = settings.ca_secret
    for _ in range(SHARED_CA_ATTEMPTS):
        try:
            fetched = shared_ca.fetch(api, ref, cert_dir)
            certificates = ensure_certificates(cert_dir, hosts)
            if fetched.complete and not certificates.ca_changed:
                return certificates
            # Our CA (new, renewed, or kept from an earlier start) becomes the shared one,
            # unless another replica wrote first: then adopt theirs on the next round.
            if shared_ca.publish(api, ref, cert_dir, fetched.resource_version):
                return certificates
        except ApiException as e:
            if e.status != FORBIDDEN:
                raise
            raise kopf.PermanentError(
                f"--webhook-ca-secret {ref.namespace}/{ref.name}: the operator may not read or "
                "write it (HTTP 403); grant its ServiceAccount get, create and update on that "
                "Secret"
            ) from None
    raise kopf.TemporaryError(
        f"the webhook CA Secret {settings.ca_secret.namespace}/{settings.ca_secret.name} kept "
        "changing while this replica tried to adopt it",
        delay=5,
    )


def mounted(cert_dir: Path) -> Certificates:
    """Certificates someone else keeps in `cert_dir` (cert-manager's Secret, mounted)."""
    return Certificates(
        ca=cert_dir / "ca.pem",
        cert=cert_dir / "tls.crt",
        key=cert_dir / "tls.key",
        ca_changed=False,
        cert_changed=False,
    )


def missing_mounted_files(cert_dir: Path) -> list[str]:
    """Which of the files an external certificate source must provide are not readable."""
    certificates = mounted(cert_dir)
    return [
        path.name
        for path in (certificates.cert, certificates.key)
        if not (path.is_file() and os.access(path, os.R_OK))
    ]


def rotate(served: Served) -> Served:
    """Renew certificates when due and bring the configuration back to what it must be (a new
    CA is a new caBundle; an edited or deleted configuration is restored). External
    certificates are left alone: kopf reloads the files when they change."""
    if served.settings.external_certs:
        return served
    served.certificates = _certificates(served.settings, served.cert_dir, served.api)
    _apply(served)
    return served


def release(served: Served) -> None:
    """Remove a temporary certificate directory (a fixed one is kept for the next start)."""
    if served.temporary:
        shutil.rmtree(served.cert_dir, ignore_errors=True)


def webhook_server(served: Served) -> kopf.WebhookServer:
    """kopf's HTTPS listener with our certificates; it reloads them when the files change."""
    settings = served.settings
    return kopf.WebhookServer(
        addr=settings.listen_address,
        port=settings.port,
        host=settings.host,
        certfile=str(served.certificates.cert),
        pkeyfile=str(served.certificates.key),
        # Only for the client config kopf would build; ours comes from the same file.
        cafile=str(served.certificates.ca) if served.certificates.ca.exists() else None,
    )
