"""Operator settings from the environment, and the retry backoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmgate.runner.handlers.plugins import _moving_tag
from wasmgate.settings import ReconcileSettings, settings_from_env


def test_defaults_without_environment() -> None:
    settings = settings_from_env({})
    assert settings.reconcile == ReconcileSettings(300.0, 5.0, 300.0)
    assert settings.registry.plain_http == frozenset()
    assert settings.validation_cache_dir is None
    assert settings.events_namespace == "default"


def test_environment_overrides() -> None:
    settings = settings_from_env(
        {
            "WASMGATE_RESYNC_SECONDS": "30",
            "WASMGATE_PLAIN_HTTP_REGISTRIES": "127.0.0.1:5000, registry.lan",
            "WASMGATE_VALIDATION_CACHE_DIR": "/var/cache/wasmgate",
            "WASMGATE_EVENTS_NAMESPACE": "wasmgate-system",
        }
    )
    assert settings.reconcile.resync_seconds == 30.0
    assert settings.registry.plain_http == frozenset({"127.0.0.1:5000", "registry.lan"})
    assert settings.validation_cache_dir == Path("/var/cache/wasmgate")
    assert settings.events_namespace == "wasmgate-system"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WASMGATE_RESYNC_SECONDS": "soon"}, "WASMGATE_RESYNC_SECONDS='soon' is not a number"),
        ({"WASMGATE_RETRY_BASE_SECONDS": "0"}, "ReconcileSettings.retry_base_seconds must be"),
    ],
    ids=["not-a-number", "not-positive"],
)
def test_bad_environment_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_env(env)


@pytest.mark.parametrize(
    ("retry", "delay"), [(0, 5.0), (1, 10.0), (5, 160.0), (6, 300.0), (1000, 300.0)]
)
def test_retry_delay_doubles_up_to_the_cap(retry: int, delay: float) -> None:
    assert ReconcileSettings().retry_delay(retry) == delay


@pytest.mark.parametrize(
    ("source", "moving"),
    [
        ({"image": "r.example/p:v1", "pullPolicy": "Always"}, True),
        ({"image": "r.example/p:v1", "pullPolicy": "IfNotPresent"}, False),
        ({"image": "r.example/p:v1"}, False),
        ({"image": "r.example/p@sha256:" + "a" * 64, "pullPolicy": "Always"}, False),
        (
            {"image": "r.example/p:v1", "pullPolicy": "Always", "digest": "sha256:" + "a" * 64},
            False,
        ),
    ],
    ids=["always-tag", "if-not-present", "default-policy", "digest-image", "digest-pin"],
)
def test_only_an_unpinned_always_tag_is_re_resolved_periodically(
    source: dict[str, str], moving: bool
) -> None:
    assert _moving_tag({"source": source}) is moving
