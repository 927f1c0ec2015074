"""`--https-proxy` and `--no-proxy` on `wasmgate run` and `wasmgate agent`: good values reach the
registry settings, bad ones stop the process before it starts, naming the flag."""

from __future__ import annotations

import os

import pytest

from support.run_agent_args import agent_args, run_args
from wasmgate import proxy_flags
from wasmgate.agent import cli as agent_cli
from wasmgate.oci.proxy import ProxySettings
from wasmgate.runner import cli as run_cli
from wasmgate.runner.run_settings import settings_from_args
from wasmgate.settings import settings_from_env

PROXY = "http://proxy.corp.example:3128"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WASMGATE_") and k.lower() not in ("https_proxy", "no_proxy")
    }
    monkeypatch.setattr(os, "environ", environ)
    return environ


def test_run_flags_reach_the_registry_settings(clean_env: dict[str, str]) -> None:
    clean_env["HTTPS_PROXY"] = "http://ignored:1"

    args = run_args(f"--https-proxy={PROXY}", "--no-proxy=.corp.example,10.0.0.0/8")

    assert settings_from_args(args, clean_env).registry.proxy == ProxySettings(
        PROXY, (".corp.example", "10.0.0.0/8")
    )
    assert proxy_flags.ENV not in clean_env
    assert settings_from_env({}).registry.proxy is None


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--https-proxy=proxy.corp:3128", '--https-proxy: "proxy.corp:3128" is not a proxy URL'),
        ("--no-proxy=10.0.0.0/40", '--no-proxy: "10.0.0.0/40" is not a CIDR'),
    ],
)
def test_run_and_agent_refuse_a_bad_flag_before_starting(
    clean_env: dict[str, str], capsys: pytest.CaptureFixture[str], flag: str, message: str
) -> None:
    assert run_cli.run(run_args(flag)) == 2
    assert capsys.readouterr().err.startswith(f"wasmgate run: {message}")
    assert proxy_flags.ENV not in clean_env
    assert agent_cli.run(agent_args(flag)) == 2
    assert capsys.readouterr().err.startswith(f"wasmgate agent: {message}")
