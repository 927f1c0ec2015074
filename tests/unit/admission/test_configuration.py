"""The webhook configuration wasmgate registers: URL or Service targets, paths, the CA bundle."""

from __future__ import annotations

import base64
import re

import pytest

from wasmgate_admission.configuration import build_validating_webhook_configuration
from wasmgate_admission.settings import ServiceRef


def test_configuration_routes_each_kind_to_its_kopf_handler() -> None:
    config = build_validating_webhook_configuration(
        name="wasmgate.dev",
        url="https://127.0.0.1:9443/",
        ca_pem=b"PEM",
        failure_policy="Ignore",
        timeout_seconds=5,
    )
    assert config["kind"] == "ValidatingWebhookConfiguration"
    hooks = {hook["name"]: hook for hook in config["webhooks"]}
    assert sorted(hooks) == [
        "wasmplugins.wasmgate.dev",
        "wasmschedulers.wasmgate.dev",
        "wasmtrustpolicies.wasmgate.dev",
    ]
    plugins = hooks["wasmplugins.wasmgate.dev"]
    assert plugins["clientConfig"] == {
        "url": "https://127.0.0.1:9443/wasmplugin-admission",
        "caBundle": base64.b64encode(b"PEM").decode(),
    }
    assert plugins["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert hooks["wasmschedulers.wasmgate.dev"]["rules"][0]["operations"] == ["DELETE"]
    assert {hook["failurePolicy"] for hook in hooks.values()} == {"Ignore"}
    assert {hook["timeoutSeconds"] for hook in hooks.values()} == {5}
    assert {hook["sideEffects"] for hook in hooks.values()} == {"None"}
    # Reviewed only when the spec changes; a DELETE has no old/new spec to compare.
    assert plugins["matchConditions"] == [
        {
            "name": "spec-changed",
            "expression": "request.operation != 'UPDATE' || object.spec != oldObject.spec",
        }
    ]
    assert hooks["wasmtrustpolicies.wasmgate.dev"]["matchConditions"] == plugins["matchConditions"]
    assert hooks["wasmschedulers.wasmgate.dev"]["matchConditions"] == []


def test_configuration_through_a_service_names_the_handler_as_path() -> None:
    config = build_validating_webhook_configuration(
        name="wasmgate.dev",
        service=ServiceRef("wasmgate-system", "wasmgate-webhook", 443),
        ca_pem=b"PEM",
        failure_policy="Ignore",
        timeout_seconds=5,
    )
    assert config["webhooks"][2]["clientConfig"] == {
        "service": {
            "namespace": "wasmgate-system",
            "name": "wasmgate-webhook",
            "port": 443,
            "path": "/wasmtrustpolicy-admission",
        },
        "caBundle": base64.b64encode(b"PEM").decode(),
    }


def test_configuration_needs_a_url_or_a_service() -> None:
    with pytest.raises(ValueError, match="the webhook needs a url or a service"):
        build_validating_webhook_configuration(
            name="n", ca_pem=b"", failure_policy="Ignore", timeout_seconds=5
        )


@pytest.mark.parametrize(
    ("policy", "timeout", "message"),
    [("Open", 5, "use Ignore or Fail"), ("Fail", 31, "accepts 1 to 30"), ("Fail", 0, "1 to 30")],
    ids=["unknown_policy", "timeout_too_long", "timeout_zero"],
)
def test_bad_settings_are_refused(policy: str, timeout: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_validating_webhook_configuration(
            name="n", url="https://x", ca_pem=b"", failure_policy=policy, timeout_seconds=timeout
        )


# The apiserver's rule for webhooks[].clientConfig.service.path: each segment a lowercase RFC 1123
# subdomain (validation.go, ValidateWebhookService). An underscore was refused on a real install.
RFC_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def test_every_service_path_is_one_the_apiserver_accepts() -> None:
    config = build_validating_webhook_configuration(
        service=ServiceRef("wasmgate-system", "wasmgate-webhook", 443),
        name="wasmgate.dev", ca_pem=b"PEM", failure_policy="Fail", timeout_seconds=5,
    )  # fmt: skip
    for webhook in config["webhooks"]:
        path = webhook["clientConfig"]["service"]["path"]
        segments = path.removeprefix("/").split("/")
        assert all(RFC_1123_SUBDOMAIN.fullmatch(s) for s in segments), path
