"""What the verify and validate stages write into WasmPlugin status, checked against the API."""

from __future__ import annotations

from wasmgate.api.wasmplugin_status import WasmPluginStatus
from wasmgate.reconcile.validate_stage import validation_status
from wasmgate.reconcile.verify_stage import signature_status
from wasmgate.trust.candidates import Discovery, Rejection, SignatureCheck, SignatureFormat
from wasmgate.trust.policy import Match
from wasmgate.trust.verify import VerificationResult
from wasmgate.validate.report import CallRecord, ImportInfo, PointCost, ValidationReport

DIGEST = "sha256:" + "d" * 64
FINGERPRINT = "e" * 64


def _result(rejections: int) -> VerificationResult:
    match = Match(
        "Secret ns/keys key cosign.pub",
        FINGERPRINT,
        "ecdsa-p256",
        SignatureFormat.BUNDLE,
        Discovery.FALLBACK_TAG,
        "r.example/p@sha256:... referrer 0",
        "spec.verify.keys",
    )
    rejected = tuple(
        Rejection(
            f"r.example/p sig layer {i}", SignatureCheck.KEY, "SignatureUntrusted", "x" * 2000
        )
        for i in range(rejections)
    )
    return VerificationResult(DIGEST, (match,), rejected, "spec.verify.keys")


def test_signature_status_names_the_key_format_and_discovery() -> None:
    status = signature_status(_result(1), "2026-11-24T12:00:00Z")
    assert status["format"] == "SigstoreBundle"
    assert status["discovery"] == "ReferrersTag"
    assert status["keyFingerprint"] == f"sha256:{FINGERPRINT}"
    assert status["verifiedAt"] == "2026-11-24T12:00:00Z"
    assert status["rejected"][0]["candidate"] == "r.example/p sig layer 0"
    assert status["rejected"][0]["reason"].startswith("SignatureUntrusted: xxx")


def test_signature_status_is_capped_to_what_the_crd_accepts() -> None:
    status = signature_status(_result(40), "2026-11-24T12:00:00Z")
    assert len(status["rejected"]) == 16
    assert all(len(r["reason"]) == 1024 for r in status["rejected"])
    parsed = WasmPluginStatus.model_validate({"digest": DIGEST, "signature": status})
    assert parsed.signature is not None
    assert parsed.signature.key_fingerprint == f"sha256:{FINGERPRINT}"


def test_validation_status_keeps_extension_points_and_caps_imports() -> None:
    report = ValidationReport(
        digest=DIGEST,
        size=100,
        verdict="pass",
        extension_points=["filter"],
        imports=[ImportInfo(module="k8s.io/klog", name=f"f{i}", kind="func") for i in range(200)],
        calls=[
            CallRecord(point="_start", fuel=5, micros=9, memory_pages=1),
            CallRecord(point="filter", node="n1", fuel=7, micros=3, memory_pages=2),
        ],
        costs=[
            PointCost(point="_start", calls=1, fuel_max=5, fuel_total=5, micros_max=9,
                      micros_total=9),
            PointCost(point="filter", calls=1, fuel_max=7, fuel_total=7, micros_max=3,
                      micros_total=3),
        ],
    )  # fmt: skip
    status = validation_status(report)
    assert status["exports"] == ["filter"]
    assert len(status["imports"]) == 128
    assert status["imports"][0] == {"module": "k8s.io/klog", "name": "f0"}
    assert status["costs"] == [{"extensionPoint": "filter", "fuel": 7, "durationMicroseconds": 3}]
    assert status["memoryPages"] == 2
