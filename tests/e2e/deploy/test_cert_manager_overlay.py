"""deploy/overlays/cert-manager rendered by the kit's kubectl (its built-in kustomize).

The test cluster has no cert-manager, so the overlay is checked as rendered objects: the
Certificate names the webhook Service, the operator mounts the Certificate's Secret where its
`--webhook-cert-dir` points, and the ValidatingWebhookConfiguration is exactly what
`wasmgate run` builds for that Service, with the CA injector's annotation instead of a caBundle.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from wasmgate.cli import build_parser
from wasmgate_admission.configuration import build_validating_webhook_configuration
from wasmgate_admission.settings import ServiceRef
from wasmgate_kit.build import binary_path

REPO_ROOT = Path(__file__).resolve().parents[3]
OVERLAY = REPO_ROOT / "deploy" / "overlays" / "cert-manager"
INJECT_ANNOTATION = "cert-manager.io/inject-ca-from"


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], dict[str, Any]]:
    result = subprocess.run(
        [str(binary_path("kubectl")), "kustomize", str(OVERLAY)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(result.stdout)}


def _operator_args(rendered: dict[tuple[str, str], dict[str, Any]]) -> Any:
    container = rendered[("Deployment", "wasmgate-operator")]["spec"]["template"]["spec"][
        "containers"
    ][0]
    return build_parser(container["args"]).parse_args(container["args"])


def test_the_certificate_names_the_webhook_service(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    certificate = rendered[("Certificate", "wasmgate-webhook")]["spec"]
    service = ServiceRef.parse(_operator_args(rendered).webhook_service)
    assert certificate["dnsNames"] == list(service.dns_names)
    assert certificate["issuerRef"] == {"kind": "Issuer", "name": "wasmgate-selfsigned"}
    assert ("Issuer", "wasmgate-selfsigned") in rendered


def test_the_operator_mounts_the_certificates_secret_at_its_cert_dir(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    pod = rendered[("Deployment", "wasmgate-operator")]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "admission-certs")
    secret = rendered[("Certificate", "wasmgate-webhook")]["spec"]["secretName"]
    assert "emptyDir" not in volume
    assert volume["secret"]["secretName"] == secret
    assert {item["path"] for item in volume["secret"]["items"]} == {"ca.pem", "tls.crt", "tls.key"}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "admission-certs")
    assert Path(mount["mountPath"]) == _operator_args(rendered).webhook_cert_dir


def test_the_webhook_configuration_is_what_the_operator_builds(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    args = _operator_args(rendered)
    built = build_validating_webhook_configuration(
        name="wasmgate.dev",
        ca_pem=b"",
        failure_policy="Ignore",
        timeout_seconds=5,
        service=ServiceRef.parse(args.webhook_service),
    )
    for webhook in built["webhooks"]:
        del webhook["clientConfig"]["caBundle"]
    shipped = rendered[("ValidatingWebhookConfiguration", "wasmgate.dev")]
    annotations = shipped["metadata"].pop("annotations")
    assert shipped == built
    assert annotations == {INJECT_ANNOTATION: "wasmgate-system/wasmgate-webhook"}


def test_the_operator_leaves_certificates_and_ca_bundle_to_cert_manager(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    args = _operator_args(rendered)
    assert args.webhook_external_certs is True
    assert args.webhook_ca_secret is None
