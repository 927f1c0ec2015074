"""What the kopf handlers of admission share: request shape, answers and the served settings.

handlers.py must stay the only module importing kopf decorators, and stay glue; the pieces here
turn kopf's keyword arguments into the AdmissionReview request the pure checks read, and a
Verdict back into kopf's warnings list and the denial exception the caller raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wasmgate_admission.certificates import Certificates, ensure_certificates
from wasmgate_admission.cluster import api_client, apply_configuration
from wasmgate_admission.cluster_lookup import ClusterLookup
from wasmgate_admission.configuration import build_validating_webhook_configuration
from wasmgate_admission.settings import AdmissionSettings
from wasmgate_admission.verdict import Verdict

FORBIDDEN = 403
UNPROCESSABLE = 422
_FORBIDDEN_REASONS = frozenset({"PolicyViolation", "SchedulerInUse"})


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


def denial_code(verdict: Verdict) -> int:
    """HTTP code of a denial: 403 for policy refusals, 422 for specs that cannot work."""
    return FORBIDDEN if verdict.reason in _FORBIDDEN_REASONS else UNPROCESSABLE


@dataclass
class Served:
    """What the running webhook uses: its settings, certificates and cluster reader."""

    settings: AdmissionSettings
    certificates: Certificates
    lookup: ClusterLookup


def prepare(settings: AdmissionSettings) -> Served:
    """Create or renew certificates, apply the webhook configuration, build the reader."""
    hosts = (settings.address, *settings.dns_names)
    certificates = ensure_certificates(settings.cert_dir, hosts)
    api = api_client()
    apply_configuration(
        api,
        build_validating_webhook_configuration(
            name=settings.configuration_name,
            url=settings.url,
            ca_pem=certificates.ca.read_bytes(),
            failure_policy=settings.failure_policy,
            timeout_seconds=settings.timeout_seconds,
        ),
    )
    return Served(settings=settings, certificates=certificates, lookup=ClusterLookup(api))


def rotate(served: Served) -> Served:
    """Renew certificates when due; a new CA is applied as the new caBundle."""
    hosts = (served.settings.address, *served.settings.dns_names)
    certificates = ensure_certificates(served.settings.cert_dir, hosts)
    if certificates.ca_changed:
        return prepare(served.settings)
    served.certificates = certificates
    return served
