"""`wasmgate run`'s `--webhook-*` flags (and WASMGATE_WEBHOOK_* variables) become the admission
settings the handlers are registered with; settings that cannot work stop it before kopf starts."""

from __future__ import annotations

import argparse
from pathlib import Path

import kopf
import pytest

from wasmgate.runner import cli, run_settings
from wasmgate.runner.handlers import register_handlers
from wasmgate_admission.settings import AdmissionSettings

# Only WASMGATE_* variables are inputs of the settings; none of the test process's own apply.
NO_VARIABLES: dict[str, str] = {}


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--kubeconfig=/dev/null", *argv])


def _admission(*argv: str) -> AdmissionSettings:
    return run_settings.settings_from_args(_parse(*argv), NO_VARIABLES).admission


def _problem(*argv: str) -> str | None:
    """What `wasmgate run` would print before starting kopf; None when it would start."""
    try:
        run_settings.checked_settings(_parse(*argv), NO_VARIABLES)
    except run_settings.Refused as e:
        return str(e)
    return None


def test_webhook_flags_become_the_settings_handlers_read(tmp_path: Path) -> None:
    flags = (
        "--webhook-port=10443",
        "--webhook-host=webhook.example",
        "--webhook-listen-address=0.0.0.0",
        f"--webhook-cert-dir={tmp_path}",
        "--webhook-service=wasmgate-system/wasmgate-webhook:8443",
        "--webhook-configuration=test.wasmgate.dev",
        "--webhook-failure-policy=Fail",
        "--webhook-timeout=3",
    )
    settings = _admission(*flags)
    assert settings.enabled
    assert (settings.port, settings.host, settings.listen_address) == (
        10443,
        "webhook.example",
        "0.0.0.0",  # noqa: S104 (what the flag said)
    )
    assert settings.cert_dir == tmp_path
    assert settings.service is not None and settings.service.port == 8443
    assert settings.configuration_name == "test.wasmgate.dev"
    assert (settings.failure_policy, settings.timeout_seconds) == ("Fail", 3)
    assert _problem(*flags) is None


def test_no_webhook_turns_it_off() -> None:
    assert not _admission("--no-webhook").enabled
    assert _problem("--no-webhook") is None


def test_defaults_need_no_writable_path() -> None:
    settings = _admission()
    assert (settings.enabled, settings.cert_dir, settings.port) == (True, None, 9443)
    assert _problem() is None


@pytest.mark.parametrize(
    ("below_a_file", "message"),
    [(False, "File exists"), (True, "Not a directory")],
    ids=["cert_dir_is_a_file", "cert_dir_below_a_file"],
)
def test_an_unusable_cert_dir_is_refused_before_kopf_starts(
    tmp_path: Path, below_a_file: bool, message: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    cert_dir = blocker / "certs" if below_a_file else blocker
    assert _problem(f"--webhook-cert-dir={cert_dir}") == (
        f"--webhook-cert-dir {cert_dir}: {message}"
    )


def test_a_bad_webhook_setting_is_refused_before_kopf_starts() -> None:
    assert _problem("--webhook-timeout=60") == "webhook timeout 60: the apiserver accepts 1-30"


def test_external_certificates_are_used_as_mounted(tmp_path: Path) -> None:
    # cert-manager's Secret, mounted read-only: tls.crt and tls.key, nothing for wasmgate to write.
    flags = (f"--webhook-cert-dir={tmp_path}", "--webhook-external-certs")
    assert _admission(*flags).external_certs
    assert _problem(*flags) == (
        f"--webhook-cert-dir {tmp_path} lacks tls.crt, tls.key; --webhook-external-certs expects "
        "them mounted there (cert-manager's Secret)"
    )
    (tmp_path / "tls.crt").write_text("cert")
    (tmp_path / "tls.key").write_text("key")
    tmp_path.chmod(0o555)
    try:
        assert _problem(*flags) is None
    finally:
        tmp_path.chmod(0o755)


def test_external_certificates_need_a_cert_dir() -> None:
    assert _problem("--webhook-external-certs") == (
        "WASMGATE_WEBHOOK_EXTERNAL_CERTS needs WASMGATE_WEBHOOK_CERT_DIR (--webhook-cert-dir): "
        "where the mounted certificates are"
    )


@pytest.mark.parametrize(
    ("argv", "variables", "registered"),
    [
        ((), {"WASMGATE_WEBHOOK": "on"},
         ["wasmplugin-admission", "wasmscheduler-admission", "wasmtrustpolicy-admission"]),
        ((), {"WASMGATE_WEBHOOK": "off"}, []),
        (("--no-webhook",), {}, []),
    ],
    ids=["served", "no_webhook", "no_webhook_flag"],
)  # fmt: skip
def test_validating_handlers_are_registered_only_when_served(
    argv: tuple[str, ...], variables: dict[str, str], registered: list[str]
) -> None:
    # kopf refuses to start with validating handlers and no server: registration follows the
    # switch, given to the registration in the settings `wasmgate run` builds.
    registry = kopf.OperatorRegistry()
    register_handlers(registry, run_settings.settings_from_args(_parse(*argv), variables))
    assert sorted(h.id for h in registry._webhooks.get_all_handlers()) == registered
