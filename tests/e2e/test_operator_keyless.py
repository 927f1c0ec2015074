"""The operator verifies keylessly signed plugins: identities in spec.verify, the kit's trusted root
from a Secret, the signer's identity and issuer in status.

One plugin is pushed to the kit's registry and signed by the real cosign as alice@example.test
through the kit's sigstore instance (Fulcio, CT log, Rekor, OIDC issuer); several WasmPlugins
name it with different identity policies and are waited on together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from support.artifacts import push_cncf, wasm_bytes
from support.keyless import KeylessSigner
from support.kit import KitHandle
from support.operator import (
    Body,
    OperatorProcess,
    apply,
    conditions,
    install_crds,
    namespace,
    wait_plugins,
)
from support.registries import of_kit
from wasmgate_kit.sigstore_stack import SigstoreStack

pytestmark = pytest.mark.e2e

NAMESPACE = "wasmgate-keyless"
ROOT_SECRET = "kit-sigstore"
ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture(scope="module")
def operator(
    kit_session: KitHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    install_crds(kit_session)
    process = OperatorProcess(kit_session, tmp_path_factory.mktemp("operator-keyless"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def image(
    kit_session: KitHandle, sigstore: SigstoreStack, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A plugin signed keylessly by ALICE from issuer-a; its reference."""
    registry = of_kit(kit_session.kit)["oci"]
    work = tmp_path_factory.mktemp("keyless-sign")
    reference = f"{registry.host}/keyless-e2e/plugin:v1"
    digest = push_cncf(registry, reference, wasm_bytes("keyless-e2e"), work)
    signer = KeylessSigner(kit_session.bin("cosign"), sigstore, work)
    signer.sign(registry, f"{registry.host}/keyless-e2e/plugin@{digest}", ALICE, "issuer-a")
    namespace(kit_session, NAMESPACE)
    manifest = kit_session.run(
        "kubectl", "create", "secret", "generic", ROOT_SECRET, "-n", NAMESPACE,
        f"--from-file=trusted_root.json={sigstore.trusted_root}", "--dry-run=client", "-o", "json",
    ).stdout  # fmt: skip
    apply(kit_session, json.loads(manifest))
    return reference


def _plugin(kit: KitHandle, name: str, image: str, identity: dict[str, str], root: bool) -> None:
    verify: dict[str, Any] = {"keyless": [identity]}
    if root:
        verify["trustedRootRef"] = {"namespace": NAMESPACE, "name": ROOT_SECRET}
    apply(
        kit,
        {
            "apiVersion": "wasmgate.dev/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": name},
            "spec": {"source": {"image": image}, "verify": verify},
        },
    )


@pytest.fixture(scope="module")
def verdicts(
    kit_session: KitHandle, operator: OperatorProcess, image: str, sigstore: SigstoreStack
) -> dict[str, Body]:
    a, b = sigstore.issuer("issuer-a"), sigstore.issuer("issuer-b")
    cases = {
        "keyless-alice": ({"issuer": a, "subject": ALICE}, True, "True"),
        "keyless-bob": ({"issuer": a, "subject": BOB}, True, "False"),
        "keyless-regexp": ({"issuer": a, "subjectRegExp": r".*@example\.test"}, True, "True"),
        "keyless-other-issuer": ({"issuer": b, "subject": ALICE}, True, "False"),
        "keyless-public-root": ({"issuer": a, "subject": ALICE}, False, "False"),
    }
    for name, (identity, root, _) in cases.items():
        _plugin(kit_session, name, image, identity, root)
    expected = {name: ("Verified", status) for name, (_, _, status) in cases.items()}
    return wait_plugins(kit_session, operator, expected)


def test_identity_a_is_verified_and_named_in_status(
    verdicts: dict[str, Body], sigstore: SigstoreStack
) -> None:
    body = verdicts["keyless-alice"]
    signature, verified = body["status"]["signature"], conditions(body)["Verified"]
    assert verified["reason"] == "Verified"
    assert signature["identity"] == ALICE
    assert signature["issuer"] == sigstore.issuer("issuer-a")
    assert signature["format"] == "SigstoreBundle"
    assert "keyFingerprint" not in signature
    assert (
        f"signed by {ALICE} (issuer {sigstore.issuer('issuer-a')}, keyless)"
        in (verified["message"])
    )


def test_regexp_identity_is_verified(verdicts: dict[str, Body]) -> None:
    assert verdicts["keyless-regexp"]["status"]["signature"]["identity"] == ALICE


@pytest.mark.parametrize(
    ("name", "reason", "fragments"),
    [
        ("keyless-bob", "SignatureUntrusted", (f"signed by {ALICE} from", f"wants {BOB} from")),
        (
            "keyless-other-issuer",
            "SignatureUntrusted",
            (f"signed by {ALICE} from {{a}}", f"wants {ALICE} from {{b}}"),
        ),
        (
            "keyless-public-root",
            "SignatureInvalid",
            ("does not verify against the sigstore public-good root embedded in wasmgate",),
        ),
    ],
    ids=["other-subject", "other-issuer", "embedded-public-root"],
)
def test_refusals_name_signer_and_policy(
    verdicts: dict[str, Body],
    sigstore: SigstoreStack,
    name: str,
    reason: str,
    fragments: tuple[str, ...],
) -> None:
    verified = conditions(verdicts[name])["Verified"]
    assert verified["reason"] == reason
    issuers = {"a": sigstore.issuer("issuer-a"), "b": sigstore.issuer("issuer-b")}
    for fragment in fragments:
        assert fragment.format(**issuers) in verified["message"]
