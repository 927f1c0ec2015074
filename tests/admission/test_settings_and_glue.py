from __future__ import annotations

from pathlib import Path

import pytest

from wasmgate_admission.glue import denial_code, plain, request
from wasmgate_admission.settings import AdmissionSettings
from wasmgate_admission.verdict import Verdict


def test_settings_from_env() -> None:
    settings = AdmissionSettings.from_env(
        {
            "WASMGATE_WEBHOOK_PORT": "10443",
            "WASMGATE_WEBHOOK_CERT_DIR": "/tmp/certs",
            "WASMGATE_WEBHOOK_FAILURE_POLICY": "Fail",
        }
    )
    assert settings.url == "https://127.0.0.1:10443"
    assert settings.cert_dir == Path("/tmp/certs")
    assert settings.failure_policy == "Fail"
    assert AdmissionSettings.from_env({}).failure_policy == "Ignore"


def test_unknown_failure_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="use Ignore or Fail"):
        AdmissionSettings.from_env({"WASMGATE_WEBHOOK_FAILURE_POLICY": "ignore"})


@pytest.mark.parametrize(
    ("reason", "code"),
    [("PolicyViolation", 403), ("SchedulerInUse", 403), ("InvalidSpec", 422)],
    ids=["policy", "in_use", "invalid"],
)
def test_denial_code(reason: str, code: int) -> None:
    assert denial_code(Verdict(allowed=False, denials=("x",), reason=reason)) == code


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
