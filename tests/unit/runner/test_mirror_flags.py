"""`--registry-mirror` on `wasmgate run` and `wasmgate agent`, and WASMGATE_REGISTRY_MIRRORS:
good values reach the registry settings, bad ones stop the process before it starts."""

from __future__ import annotations

import os

import pytest

from support.run_agent_args import agent_args, run_args
from wasmgate.agent import cli as agent_cli
from wasmgate.runner import cli as run_cli
from wasmgate.runner.run_settings import checked_settings
from wasmgate.settings import settings_from_env

GOOD = "registry.example.com/team=mirror.local:5000/team"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WASMGATE_")}
    monkeypatch.setattr(os, "environ", environ)
    return environ


def test_environment_mirrors_become_registry_settings() -> None:
    settings = settings_from_env(
        {"WASMGATE_REGISTRY_MIRRORS": f"{GOOD}, ghcr.io/org=cache.local/org"}
    )
    assert [str(m) for m in settings.registry.mirrors] == [GOOD, "ghcr.io/org=cache.local/org"]
    assert settings_from_env({}).registry.mirrors == ()


def test_run_flags_add_to_the_environment(clean_env: dict[str, str]) -> None:
    clean_env["WASMGATE_REGISTRY_MIRRORS"] = "ghcr.io/org=cache.local/org"

    args = run_args(f"--registry-mirror={GOOD}", "--registry-mirror=a.example=b.example")

    mirrors = checked_settings(args, clean_env).registry.mirrors
    assert [str(m) for m in mirrors] == [
        "ghcr.io/org=cache.local/org",
        GOOD,
        "a.example=b.example",
    ]
    assert clean_env["WASMGATE_REGISTRY_MIRRORS"] == "ghcr.io/org=cache.local/org"


def test_run_refuses_a_bad_flag_before_starting(
    clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli.run(run_args("--registry-mirror=https://registry.example.com=mirror.local"))

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("wasmgate run: --registry-mirror: ")
    assert "has a scheme; drop it" in err
    assert "WASMGATE_REGISTRY_MIRRORS" not in clean_env


def test_run_refuses_a_bad_environment_naming_the_variable(
    clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env["WASMGATE_REGISTRY_MIRRORS"] = "registry.example.com/team"

    code = run_cli.run(run_args("--no-webhook"))

    assert code == 2
    assert capsys.readouterr().err.startswith(
        'wasmgate run: WASMGATE_REGISTRY_MIRRORS: "registry.example.com/team" is not '
        "PREFIX=MIRROR; write e.g. WASMGATE_REGISTRY_MIRRORS=registry.example.com/team="
    )


def test_run_refuses_a_prefix_mapped_twice(capsys: pytest.CaptureFixture[str]) -> None:
    args = run_args(
        f"--registry-mirror={GOOD}", "--registry-mirror=registry.example.com/team=x.example"
    )

    assert run_cli.run(args) == 2
    assert "--registry-mirror: the prefix registry.example.com/team is mapped twice" in (
        capsys.readouterr().err
    )


def test_agent_refuses_a_bad_flag_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    code = agent_cli.run(agent_args("--registry-mirror=registry.example.com/team:v1=m.example"))

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("wasmgate agent: --registry-mirror: ")
    assert 'the prefix "registry.example.com/team:v1" has a tag' in err
