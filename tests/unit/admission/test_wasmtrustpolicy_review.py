from __future__ import annotations

from typing import Any

import pytest

from support.table_lookup import PRIVATE_PEM, PUBLIC_PEM, TableLookup, secret
from wasmgate_admission.wasmtrustpolicy import review_wasmtrustpolicy

LOOKUP = TableLookup(
    secrets={
        ("ops", "platform"): secret({"cosign.pub": PUBLIC_PEM}),
        ("ops", "private"): secret({"cosign.pub": PRIVATE_PEM}),
        ("ops", "garbled"): {"data": {"cosign.pub": "***"}},
    }
)


def _policy(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmTrustPolicy",
        "metadata": {"name": "p"},
        "spec": spec,
    }


def _key(name: str) -> list[dict[str, Any]]:
    return [{"secretRef": {"name": name, "namespace": "ops"}}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"keys": _key("absent")},
            "spec.keys[0].secretRef: Secret ops/absent does not exist; create it first",
        ),
        ({"keys": _key("private")}, "not a PEM public key (-----BEGIN PUBLIC KEY-----)"),
        (
            {"keys": _key("garbled")},
            "spec.keys[0].secretRef: Secret ops/garbled key 'cosign.pub' is not base64; recreate",
        ),
        (
            {"signatureRequired": False, "keys": _key("platform")},
            "keys and keyless demand signatures, but signatureRequired is false",
        ),
        ({"mode": "Audit"}, "spec.mode: Input should be 'Enforce' or 'Warn'"),
    ],
    ids=["key_secret_missing", "private_key", "not_base64", "signers_without_signatures", "mode"],
)
def test_denied(spec: dict[str, Any], message: str) -> None:
    verdict = review_wasmtrustpolicy({"operation": "CREATE", "object": _policy(**spec)}, LOOKUP)
    assert not verdict.allowed
    assert verdict.reason == "InvalidSpec"
    assert message in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("spec", "warnings"),
    [
        ({"keys": _key("platform"), "allowedRegistries": ["ghcr.io/acme/**"]}, 0),
        ({"signatureRequired": False}, 1),
    ],
    ids=["keys_load", "unsigned_allowed_warns"],
)
def test_admitted(spec: dict[str, Any], warnings: int) -> None:
    verdict = review_wasmtrustpolicy({"operation": "CREATE", "object": _policy(**spec)}, LOOKUP)
    assert verdict.allowed, verdict.message
    assert len(verdict.warnings) == warnings
    assert all(w.startswith("spec.signatureRequired is false") for w in verdict.warnings)
