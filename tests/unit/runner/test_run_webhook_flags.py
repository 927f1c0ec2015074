from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wasmgate.runner import cli
from wasmgate_admission.settings import AdmissionSettings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--kubeconfig=/dev/null", *argv])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # `wasmgate run` exports its flags into os.environ; give it a copy to write into.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WASMGATE_")}
    monkeypatch.setattr(os, "environ", environ)


def test_webhook_flags_become_the_settings_handlers_read(clean_env: None, tmp_path: Path) -> None:
    cli._export(
        _parse(
            "--webhook-port=10443",
            "--webhook-host=webhook.example",
            "--webhook-listen-address=0.0.0.0",
            f"--webhook-cert-dir={tmp_path}",
            "--webhook-service=wasmgate-system/wasmgate-webhook:8443",
            "--webhook-configuration=test.wasmgate.dev",
            "--webhook-failure-policy=Fail",
            "--webhook-timeout=3",
        )
    )
    settings = AdmissionSettings.from_env()
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
    assert cli._webhook_problem() is None


def test_no_webhook_turns_it_off(clean_env: None) -> None:
    cli._export(_parse("--no-webhook"))
    assert not AdmissionSettings.from_env().enabled
    assert cli._webhook_problem() is None


def test_defaults_need_no_writable_path(clean_env: None) -> None:
    cli._export(_parse())
    settings = AdmissionSettings.from_env()
    assert (settings.enabled, settings.cert_dir, settings.port) == (True, None, 9443)
    assert cli._webhook_problem() is None


@pytest.mark.parametrize(
    ("below_a_file", "message"),
    [(False, "File exists"), (True, "Not a directory")],
    ids=["cert_dir_is_a_file", "cert_dir_below_a_file"],
)
def test_an_unusable_cert_dir_is_refused_before_kopf_starts(
    clean_env: None, tmp_path: Path, below_a_file: bool, message: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    cert_dir = blocker / "certs" if below_a_file else blocker
    cli._export(_parse(f"--webhook-cert-dir={cert_dir}"))
    assert cli._webhook_problem() == f"--webhook-cert-dir {cert_dir}: {message}"


def test_a_bad_webhook_setting_is_refused_before_kopf_starts(clean_env: None) -> None:
    cli._export(_parse("--webhook-timeout=60"))
    assert cli._webhook_problem() == "webhook timeout 60: the apiserver accepts 1-30"


def test_external_certificates_are_used_as_mounted(clean_env: None, tmp_path: Path) -> None:
    # cert-manager's Secret, mounted read-only: tls.crt and tls.key, nothing for wasmgate to write.
    cli._export(_parse(f"--webhook-cert-dir={tmp_path}", "--webhook-external-certs"))
    assert AdmissionSettings.from_env().external_certs
    assert cli._webhook_problem() == (
        f"--webhook-cert-dir {tmp_path} lacks tls.crt, tls.key; --webhook-external-certs expects "
        "them mounted there (cert-manager's Secret)"
    )
    (tmp_path / "tls.crt").write_text("cert")
    (tmp_path / "tls.key").write_text("key")
    tmp_path.chmod(0o555)
    try:
        assert cli._webhook_problem() is None
    finally:
        tmp_path.chmod(0o755)


def test_external_certificates_need_a_cert_dir(clean_env: None) -> None:
    cli._export(_parse("--webhook-external-certs"))
    assert cli._webhook_problem() == (
        "WASMGATE_WEBHOOK_EXTERNAL_CERTS needs WASMGATE_WEBHOOK_CERT_DIR (--webhook-cert-dir): "
        "where the mounted certificates are"
    )


@pytest.mark.parametrize(
    ("switch", "registered"),
    [("on", ["wasmplugin-admission", "wasmscheduler-admission", "wasmtrustpolicy-admission"]),
     ("off", [])],
    ids=["served", "no_webhook"],
)  # fmt: skip
def test_validating_handlers_are_registered_only_when_served(
    switch: str, registered: list[str]
) -> None:
    # kopf refuses to start with validating handlers and no server: registration follows the
    # switch, read when handlers.py is imported (a fresh interpreter, as `wasmgate run` does).
    program = (
        "import kopf, wasmgate.handlers\n"
        "print(sorted(h.id for h in kopf.get_default_registry()._webhooks.get_all_handlers()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "WASMGATE_WEBHOOK": switch},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == str(registered)
