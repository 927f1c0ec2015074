from __future__ import annotations

import re
from pathlib import Path

import pytest
from kubernetes import client

from wasmgate_admission.decision import AdmissionDecision
from wasmgate_admission.glue import denial_code, plain, prepare, request, rotate, spec_unchanged
from wasmgate_admission.settings import AdmissionSettings, ServiceRef


def test_settings_from_env() -> None:
    settings = AdmissionSettings.from_env(
        {
            "WASMGATE_WEBHOOK_PORT": "10443",
            "WASMGATE_WEBHOOK_CERT_DIR": "/tmp/certs",
            "WASMGATE_WEBHOOK_FAILURE_POLICY": "Fail",
        }
    )
    assert settings.enabled
    assert settings.url == "https://127.0.0.1:10443"
    assert settings.cert_dir == Path("/tmp/certs")
    assert settings.failure_policy == "Fail"
    assert settings.certificate_hosts == ("127.0.0.1",)
    defaults = AdmissionSettings.from_env({})
    assert (defaults.failure_policy, defaults.port, defaults.cert_dir) == ("Ignore", 9443, None)


ANY_INTERFACE = "0.0.0.0"  # noqa: S104 (a Pod listens on every interface)


def test_settings_for_a_pod_behind_a_service() -> None:
    settings = AdmissionSettings.from_env(
        {
            "WASMGATE_WEBHOOK_ADDRESS": ANY_INTERFACE,
            "WASMGATE_WEBHOOK_SERVICE": "wasmgate-system/wasmgate-webhook",
        }
    )
    assert settings.listen_address == ANY_INTERFACE
    assert settings.ca_secret is None
    assert settings.service == ServiceRef("wasmgate-system", "wasmgate-webhook", 443)
    # 0.0.0.0 is no name a client calls: it is not in the certificate.
    assert settings.certificate_hosts == (
        "127.0.0.1",
        "wasmgate-webhook",
        "wasmgate-webhook.wasmgate-system",
        "wasmgate-webhook.wasmgate-system.svc",
        "wasmgate-webhook.wasmgate-system.svc.cluster.local",
    )


@pytest.mark.parametrize("value", ["off", "false", "0", "OFF"], ids=["off", "false", "0", "upper"])
def test_webhook_can_be_turned_off(value: str) -> None:
    assert not AdmissionSettings.from_env({"WASMGATE_WEBHOOK": value}).enabled


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WASMGATE_WEBHOOK_FAILURE_POLICY": "ignore"}, "use Ignore or Fail"),
        ({"WASMGATE_WEBHOOK_PORT": "https"}, "WASMGATE_WEBHOOK_PORT='https' is not a whole"),
        ({"WASMGATE_WEBHOOK_PORT": "70000"}, "webhook port 70000: use 1 to 65535"),
        ({"WASMGATE_WEBHOOK_TIMEOUT": "31"}, "webhook timeout 31: the apiserver accepts 1-30"),
        ({"WASMGATE_WEBHOOK_SERVICE": "wasmgate-webhook"}, "use NAMESPACE/NAME or NAMESPACE/NAME:"),
        ({"WASMGATE_WEBHOOK_SERVICE": "ns/name:https"}, "use NAMESPACE/NAME or NAMESPACE/NAME:"),
        ({"WASMGATE_WEBHOOK_CA_SECRET": "webhook-ca"}, "CA_SECRET='webhook-ca': use NAMESPACE/"),
        (
            {
                "WASMGATE_WEBHOOK_CA_SECRET": "ns/ca",
                "WASMGATE_WEBHOOK_EXTERNAL_CERTS": "on",
                "WASMGATE_WEBHOOK_CERT_DIR": "/certs",
            },
            "exclude each other: with external certificates wasmgate has no CA to share",
        ),
    ],
    ids=[
        "policy_lowercase",
        "port_not_a_number",
        "port_out_of_range",
        "timeout_too_long",
        "service_without_namespace",
        "service_port_not_a_number",
        "ca_secret_without_namespace",
        "ca_secret_and_external_certs",
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        AdmissionSettings.from_env(env)


@pytest.mark.parametrize(
    ("reason", "code"),
    [("PolicyViolation", 403), ("SchedulerInUse", 403), ("InvalidSpec", 422)],
    ids=["policy", "in_use", "invalid"],
)
def test_denial_code(reason: str, code: int) -> None:
    assert denial_code(AdmissionDecision(allowed=False, denials=("x",), reason=reason)) == code


def test_request_copies_kopf_views_into_plain_dicts() -> None:
    class View(dict[str, object]):
        pass

    built = request("DELETE", None, View(metadata=View(name="a"), items=[View(k=1)]))
    assert built == {
        "operation": "DELETE",
        "object": None,
        "oldObject": {"metadata": {"name": "a"}, "items": [{"k": 1}]},
    }
    assert type(built["oldObject"]["metadata"]) is dict
    assert plain([View(a=1)]) == [{"a": 1}]


SPEC = {"source": {"image": "registry.example.com/x/p:v1"}}


@pytest.mark.parametrize(
    ("operation", "old", "new", "unchanged"),
    [
        ("UPDATE", {"spec": SPEC}, {"spec": SPEC, "metadata": {"finalizers": []}}, True),
        ("UPDATE", {"spec": SPEC}, {"spec": {"source": {"image": "other/p:v1"}}}, False),
        ("CREATE", None, {"spec": SPEC}, False),
        ("DELETE", {"spec": SPEC}, None, False),
    ],
    ids=["metadata_only_update", "spec_update", "create", "delete"],
)
def test_only_updates_that_keep_the_spec_skip_review(
    operation: str, old: object, new: object, unchanged: bool
) -> None:
    assert spec_unchanged(request(operation, new, old)) is unchanged


def test_external_certificates_are_neither_written_nor_applied(tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_text("cert from cert-manager")
    (tmp_path / "tls.key").write_text("key from cert-manager")
    settings = AdmissionSettings(cert_dir=tmp_path, external_certs=True)
    # An ApiClient for a server that does not exist: any request would fail the test.
    api = client.ApiClient(client.Configuration(host="https://127.0.0.1:9"))
    served = rotate(prepare(settings, api))
    assert (served.certificates.cert, served.certificates.key) == (
        tmp_path / "tls.crt",
        tmp_path / "tls.key",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls.crt", "tls.key"]
    assert (tmp_path / "tls.crt").read_text() == "cert from cert-manager"
    assert not served.temporary
