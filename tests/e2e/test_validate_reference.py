"""`wasmgate validate REF` against the kit's registries: same report and exit codes as a file.

Modules are pushed with `wasmgate push`; the command then resolves the tag, fetches the wasm
layer (plain HTTP, credentials from a docker config) and validates it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from support.kit import KitHandle
from support.wasmgate_cli import push, wasmgate

pytestmark = pytest.mark.e2e


_MICROS = re.compile(r"[\d,]+µs")


def _report_body(stdout: str) -> list[str]:
    """The report without its first line (it names the source) and without timings."""
    return [_MICROS.sub("?µs", line) for line in stdout.splitlines()[1:]]


@pytest.mark.parametrize(
    ("asset", "exit_code", "verdict"),
    [
        ("filter_node_name_suffix", 0, "  verdict   PASS"),
        ("exports_no_memory", 1, "  verdict   FAIL (AbiMismatch)"),
        ("start_trap", 1, "  verdict   FAIL (DryRunTrapped)"),
    ],
    ids=["pass", "abi-mismatch", "start-trap"],
)
def test_reference_gets_the_report_and_exit_code_of_its_file(
    kit: KitHandle, wasm_assets: dict[str, Path], asset: str, exit_code: int, verdict: str
) -> None:
    host = kit.registries["oci"].host
    reference = f"{host}/validate-e2e/{asset.replace('_', '-')}:v1"
    digest = push(wasm_assets[asset], reference)

    by_reference = wasmgate("validate", "--no-cache", "--plain-http", host, reference)
    by_file = wasmgate("validate", "--no-cache", wasm_assets[asset])

    assert (by_reference.returncode, by_file.returncode) == (exit_code, exit_code), (
        by_reference.stderr
    )
    assert by_reference.stdout.splitlines()[0] == f"wasmgate validate {reference}@{digest}"
    module_digest = "sha256:" + hashlib.sha256(wasm_assets[asset].read_bytes()).hexdigest()
    assert f"  digest    {module_digest}" in by_reference.stdout.splitlines()
    assert verdict in by_reference.stdout.splitlines()
    assert _report_body(by_reference.stdout) == _report_body(by_file.stdout)


def test_credentials_come_from_the_docker_config(
    kit: KitHandle, wasm_assets: dict[str, Path], tmp_path: Path
) -> None:
    registry = kit.registries["oci-auth"]
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    docker_config = tmp_path / "config.json"
    docker_config.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    nowhere = tmp_path / "no-config.json"
    reference = f"{registry.host}/validate-e2e/private:v1"
    push(wasm_assets["score_node_label"], reference, f"--docker-config={docker_config}")

    anonymous = wasmgate(
        "validate", "--no-cache", "--plain-http", registry.host,
        f"--docker-config={nowhere}", reference,
    )  # fmt: skip
    authorized = wasmgate(
        "validate", "--no-cache", "--plain-http", registry.host,
        f"--docker-config={docker_config}", reference,
    )  # fmt: skip

    assert anonymous.returncode == 2
    assert f"wasmgate validate: {reference}: RegistryAuthFailed:" in anonymous.stderr
    assert anonymous.stdout == ""
    assert authorized.returncode == 0, authorized.stderr
    assert "  verdict   PASS" in authorized.stdout.splitlines()
    assert registry.password not in authorized.stdout + authorized.stderr


def test_a_missing_tag_is_unreadable_input(kit: KitHandle) -> None:
    host = kit.registries["oci"].host
    reference = f"{host}/validate-e2e/never-pushed:v1"

    result = wasmgate("validate", "--plain-http", host, reference)

    assert result.returncode == 2
    assert result.stderr.startswith(f"wasmgate validate: {reference}: ArtifactNotFound:")
    assert result.stdout == ""
