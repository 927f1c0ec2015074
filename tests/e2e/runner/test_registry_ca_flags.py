"""`--registry-ca-configmap` on `wasmgate run` and `wasmgate agent`: a good ConfigMap becomes the
registry settings' CA bundles, a bad reference or object stops the process naming the flag, the
object and the fix (the ConfigMap read through a stand-in for the API; e2e reads a real one)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from kubernetes.client.exceptions import ApiException

from support import local_registries
from support.run_agent_args import agent_args, run_args
from wasmgate import registry_ca_flag
from wasmgate.agent import cli as agent_cli
from wasmgate.errors import InvalidSpec
from wasmgate.oci.settings import RegistrySettings
from wasmgate.runner import cli as run_cli
from wasmgate.runner.run_settings import registry_ca_reference


class _FakeCoreV1:
    """read_namespaced_config_map answering from a dict, or raising an ApiException status."""

    objects: ClassVar[dict[tuple[str, str], Any]] = {}

    def __init__(self, _api: object) -> None:
        pass

    def read_namespaced_config_map(self, name: str, namespace: str) -> Any:
        found = self.objects[(namespace, name)]
        if isinstance(found, int):
            raise ApiException(status=found, reason="Forbidden" if found == 403 else "NotFound")
        return found


@pytest.fixture
def configmaps(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], Any]:
    objects: ClassVar[dict[tuple[str, str], Any]] = {}
    monkeypatch.setattr(_FakeCoreV1, "objects", objects)
    monkeypatch.setattr(registry_ca_flag, "CoreV1Api", _FakeCoreV1)
    return objects


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WASMGATE_")}
    monkeypatch.setattr(os, "environ", environ)
    return environ


def test_configmap_bundles_become_registry_settings(
    configmaps: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    pem = local_registries.TestCA.create(tmp_path).cert_file.read_text()
    data = {"ca.crt": pem, "127.0.0.1_5000.crt": pem}
    configmaps[("wasmgate-system", "registry-ca")] = SimpleNamespace(data=data, binary_data=None)
    base = RegistrySettings(plain_http=frozenset({"plain.local"}))

    settings = registry_ca_flag.with_registry_cas(
        base,
        object(),
        "wasmgate-system/registry-ca",
        tmp_path / "cas",  # type: ignore[arg-type]
    )

    assert settings.plain_http == base.plain_http
    assert settings.ca_bundles["127.0.0.1:5000"].read_text() == pem
    assert settings.default_ca_bundle is not None
    assert settings.default_ca_bundle.read_text().endswith(pem)
    assert settings.default_ca_bundle.stat().st_size > len(pem)  # the system roots come first


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param(
            404,
            "--registry-ca-configmap: ConfigMap wasmgate-system/registry-ca does not exist; "
            "create it, e.g. kubectl create configmap",
            id="missing",
        ),
        pytest.param(
            403,
            "--registry-ca-configmap: ConfigMap wasmgate-system/registry-ca may not be read "
            "(HTTP 403); grant get on it with resourceNames",
            id="forbidden",
        ),
        pytest.param(
            SimpleNamespace(data={"ca.crt": "x"}, binary_data=None),
            '--registry-ca-configmap: ConfigMap wasmgate-system/registry-ca key "ca.crt" is not '
            "a PEM certificate bundle",
            id="not-pem",
        ),
    ],
)
def test_unusable_configmaps_are_refused(
    configmaps: dict[tuple[str, str], Any], tmp_path: Path, stored: Any, message: str
) -> None:
    configmaps[("wasmgate-system", "registry-ca")] = stored

    with pytest.raises(InvalidSpec) as refused:
        registry_ca_flag.with_registry_cas(
            RegistrySettings(),
            object(),
            "wasmgate-system/registry-ca",
            tmp_path,  # type: ignore[arg-type]
        )

    assert refused.value.message.startswith(message), refused.value.message


@pytest.mark.parametrize("bad", ["registry-ca", "ns/", "/name", "a/b/c", " ns/name"])
def test_run_refuses_a_bad_reference_before_starting(
    clean_env: dict[str, str], capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    code = run_cli.run(run_args(f"--registry-ca-configmap={bad}"))

    assert code == 2
    assert capsys.readouterr().err.startswith(
        f'wasmgate run: --registry-ca-configmap: "{bad}" is not NAMESPACE/NAME; write e.g. '
        "--registry-ca-configmap=wasmgate-system/wasmgate-registry-ca"
    )
    assert registry_ca_flag.ENV not in clean_env


def test_run_takes_a_good_reference_over_the_environment(clean_env: dict[str, str]) -> None:
    clean_env[registry_ca_flag.ENV] = "other/ignored"
    args = run_args("--registry-ca-configmap=wasmgate-system/registry-ca")

    assert registry_ca_reference(args, clean_env) == "wasmgate-system/registry-ca"
    assert registry_ca_reference(run_args(), clean_env) == "other/ignored"


def test_agent_refuses_a_bad_reference_before_starting(
    clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent_cli.run(agent_args("--registry-ca-configmap=registry-ca")) == 2
    assert capsys.readouterr().err.startswith(
        'wasmgate agent: --registry-ca-configmap: "registry-ca" is not NAMESPACE/NAME'
    )
