"""Every way a plugin can fail to be trusted, through the real operator: its own reason and fix.

All cases are set up at once on the kit's registries with the real cosign and oras (the same
setups as the trust library's tests, tests/support/signature_cases.py, with the operator's default
caps), applied as WasmPlugins, and waited on together; then each plugin's condition is checked
for its status, its exact reason and a message fragment that names what to fix. A registry that
is down is a temporary RegistryUnavailable, retried until the registry is back, never a
verification failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from support.artifacts import credentials_for, push_cncf, settings_for, wasm_bytes
from support.kit import KitHandle
from support.operator import (
    Body,
    OperatorProcess,
    conditions,
    fingerprint,
    key_secret,
    namespace,
    plugin,
    pull_secret,
    running_operator,
    wait_plugin,
    wait_plugins,
)
from support.registries import LocalRegistry, of_kit
from support.signature_cases import Tools, failure_cases, push_signed
from support.signing import make_key
from wasmgate.oci import push_wasm, resolve
from wasmgate.oci.settings import DEFAULT_MAX_MANIFEST_BYTES
from wasmgate.trust.settings import DEFAULT_MAX_SIGNATURES

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-e2e-failures"
KEYS = (NAMESPACE, "trusted-keys")
# Short, so that the pullPolicy: Always plugin sees its moved tag within the wait.
RESYNC = "--resync-seconds=3"
STAGES = ("Resolved", "Verified", "Validated")


@dataclass(frozen=True)
class Expected:
    """What one plugin's status must end with."""

    condition: str
    reason: str
    fragments: tuple[str, ...]
    digest: str | None
    """status.digest, when resolution succeeded."""
    status: str = "False"


@pytest.fixture(scope="module")
def registries(kit_session: KitHandle) -> dict[str, LocalRegistry]:
    return of_kit(kit_session.kit)


@pytest.fixture(scope="module")
def tools(kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory) -> Tools:
    root = tmp_path_factory.mktemp("failure-keys")
    cosign = kit_session.bin("cosign")
    trusted = make_key(cosign, "p256", root / "trusted")
    namespace(kit_session, NAMESPACE)
    key_secret(kit_session, *KEYS, trusted.public)
    other = make_key(cosign, "p256", root / "other")
    return Tools(cosign, kit_session.bin("oras"), trusted, other, root)


@pytest.fixture(scope="module")
def operator(
    kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with running_operator(
        kit_session, tmp_path_factory.mktemp("operator-failures"), RESYNC
    ) as process:
        yield process


def _scratch(tools: Tools, name: str) -> Tools:
    workdir = tools.workdir / name
    workdir.mkdir()
    return Tools(tools.cosign, tools.oras, tools.trusted, tools.other, workdir)


def _wrong_credentials(kit: KitHandle, tools: Tools, registry: LocalRegistry) -> Expected:
    ref, _ = push_signed(tools, registry, "verify-failures/wrong-credentials")
    user = registry.username or ""
    pull_secret(kit, NAMESPACE, "wrong-login", registry.host, user, "not-the-password")
    plugin(kit, "vf-wrong-credentials", ref, KEYS, pull_secret=(NAMESPACE, "wrong-login"))
    return Expected(
        "Resolved",
        "RegistryAuthFailed",
        (registry.host, "refused the credentials from the pull secret"),
        None,
    )


def _manifest_over_cap(kit: KitHandle, tools: Tools, registry: LocalRegistry) -> Expected:
    ref = f"{registry.host}/verify-failures/manifest-over-cap:v1"
    module = tools.workdir / "big-manifest.wasm"
    module.write_bytes(wasm_bytes(ref))
    padding = {"padding": "x" * DEFAULT_MAX_MANIFEST_BYTES}
    push_wasm(module, ref, settings_for(registry), credentials_for(registry), padding)
    plugin(kit, "vf-manifest-over-cap", ref, KEYS)
    repository = ref.rsplit(":", 1)[0]
    return Expected(
        "Resolved",
        "ArtifactTooLarge",
        (f"manifest {repository}@sha256:", f"bytes; the cap is {DEFAULT_MAX_MANIFEST_BYTES}"),
        None,
    )


def _tampered_layer(kit: KitHandle, tools: Tools, registry: LocalRegistry) -> Expected:
    """The wasm layer edited on docker-registry's disk after signing: the signature still holds
    (it signs the manifest), the fetch before validation must catch the bytes."""
    ref, digest = push_signed(tools, registry, "verify-failures/tampered-layer")
    layer = registry.blob_path(resolve(ref, settings_for(registry)).layer_digest)
    data = layer.read_bytes()
    layer.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    plugin(kit, "vf-tampered-layer", ref, KEYS)
    return Expected(
        "Validated",
        "DigestMismatch",
        ("the registry's copy is corrupt or was tampered with",),
        digest,
    )


@pytest.fixture(scope="module")
def outcomes(
    kit_session: KitHandle,
    registries: dict[str, LocalRegistry],
    tools: Tools,
    operator: OperatorProcess,
) -> dict[str, tuple[Expected, Body]]:
    """Every case set up and applied at once, the moved tag moved, then all waited on."""
    kit = kit_session
    expected: dict[str, Expected] = {}
    cases = failure_cases(DEFAULT_MAX_SIGNATURES, DEFAULT_MAX_MANIFEST_BYTES)
    for case, (registry_name, setup) in cases.items():
        bad = setup(_scratch(tools, case), registries[registry_name], f"verify-failures/{case}")
        plugin(kit, f"vf-{case}", bad.ref, KEYS)
        expected[f"vf-{case}"] = Expected("Verified", bad.reason, bad.fragments, bad.digest)

    moving_tools = _scratch(tools, "moved-tag")
    oci = registries["oci"]
    moving, signed = push_signed(moving_tools, oci, "verify-failures/moved-tag")
    plugin(kit, "vf-moved-tag", moving, KEYS, pull_policy="Always")
    expected["vf-wrong-credentials"] = _wrong_credentials(
        kit, _scratch(tools, "wrong-credentials"), registries["distribution-auth"]
    )
    expected["vf-manifest-over-cap"] = _manifest_over_cap(kit, _scratch(tools, "big"), oci)
    expected["vf-tampered-layer"] = _tampered_layer(
        kit, _scratch(tools, "tampered-layer"), registries["distribution"]
    )

    first = wait_plugin(kit, operator, "vf-moved-tag", "Verified", "True")
    assert first["status"]["digest"] == signed
    moved = push_cncf(oci, moving, wasm_bytes("moved-to-unsigned"), moving_tools.workdir)
    expected["vf-moved-tag"] = Expected(
        "Verified",
        "SignatureMissing",
        (f"{oci.host}/verify-failures/moved-tag@{moved} is not signed", "cosign sign --key"),
        moved,
    )

    wanted = {name: (e.condition, e.status) for name, e in expected.items()}
    bodies = wait_plugins(kit, operator, wanted)
    return {name: (e, bodies[name]) for name, e in expected.items()}


CASES = [
    *failure_cases(DEFAULT_MAX_SIGNATURES, DEFAULT_MAX_MANIFEST_BYTES),
    "moved-tag",
    "wrong-credentials",
    "manifest-over-cap",
    "tampered-layer",
]


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_each_failure_has_its_own_reason_and_an_actionable_message(
    outcomes: dict[str, tuple[Expected, Body]], case: str
) -> None:
    expected, body = outcomes[f"vf-{case}"]
    found = conditions(body)
    condition = found[expected.condition]
    status = body["status"]

    assert (condition["status"], condition["reason"]) == (expected.status, expected.reason)
    for fragment in expected.fragments:
        assert fragment in condition["message"]
    assert status["phase"] == "Failed"
    assert status.get("digest") == expected.digest
    # Later stages never ran for this digest, or wait (Unknown) after an earlier result.
    for later in STAGES[STAGES.index(expected.condition) + 1 :]:
        assert found.get(later, {"status": "Unknown"})["status"] == "Unknown", found[later]
    for earlier in STAGES[: STAGES.index(expected.condition)]:
        assert found[earlier]["status"] == "True", found[earlier]
    if expected.condition != "Validated":
        assert status.get("signature") is None, status["signature"]


def test_a_registry_that_is_down_is_retried_until_it_is_back(
    kit: KitHandle,
    registries: dict[str, LocalRegistry],
    tools: Tools,
    operator: OperatorProcess,
) -> None:
    registry = registries["distribution"]
    ref, digest = push_signed(_scratch(tools, "down"), registry, "verify-failures/down")
    registry.stop()
    try:
        plugin(kit, "vf-registry-down", ref, KEYS)
        body = wait_plugin(kit, operator, "vf-registry-down", "Resolved", "Unknown")
        resolved = conditions(body)["Resolved"]
        assert resolved["reason"] == "RegistryUnavailable"
        assert registry.host in resolved["message"]
        assert body["status"]["phase"] == "Resolving"
        assert "Verified" not in conditions(body)
    finally:
        registry.start()

    body = wait_plugin(kit, operator, "vf-registry-down", "Verified", "True")
    assert body["status"]["digest"] == digest
    assert body["status"]["signature"]["keyFingerprint"] == fingerprint(tools.trusted.public)
    # Retried: the first pass met the registry down, a later one resolved.
    assert operator.log_file.read_text().count("WasmPlugin vf-registry-down: pass ran resolve") >= 2
