"""Keyless signatures in `wasmgate inspect` and a private sigstore root through save and load.

A module is signed keylessly by cosign against the kit's sigstore instance. inspect names the
certificate's identity and issuer when given that instance's trusted root, and says why it cannot
when left with the embedded public-good root. save carries that root; load writes it back out
byte for byte, for the `trustedRootRef` Secret of an air-gapped cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.keyless import KeylessSigner
from support.kit import KitHandle
from support.registries import of_kit
from support.wasmgate_cli import push, wasmgate
from wasmgate_kit.sigstore_stack import SigstoreStack

pytestmark = pytest.mark.e2e

ALICE = "alice@example.test"


def test_keyless_signer_is_named_and_its_root_travels(
    kit: KitHandle, sigstore: SigstoreStack, wasm_assets: dict[str, Path], tmp_path: Path
) -> None:
    source = of_kit(kit.kit)["oci"]
    target = of_kit(kit.kit)["distribution"]
    digest = push(wasm_assets["score_node_label"], f"{source.host}/keyless-inspect/score:v1")
    signed = f"{source.host}/keyless-inspect/score@{digest}"
    KeylessSigner(kit.bin("cosign"), sigstore, tmp_path).sign(source, signed, ALICE)

    with_root = wasmgate(
        "inspect", "-o", "json", "--plain-http", source.host,
        "--trusted-root", sigstore.trusted_root, signed,
    )  # fmt: skip
    without_root = wasmgate("inspect", "-o", "json", "--plain-http", source.host, signed)

    assert with_root.returncode == 0, with_root.stderr
    (found,) = json.loads(with_root.stdout)["signatures"]["found"]
    assert found["format"] == "sigstore-bundle"
    assert found["signer"]["kind"] == "keyless"
    assert found["signer"]["verified"] is True
    assert found["signer"]["identity"] == ALICE
    assert found["signer"]["issuer"] == sigstore.issuer("issuer-a")
    assert without_root.returncode == 0, without_root.stderr
    (unverified,) = json.loads(without_root.stdout)["signatures"]["found"]
    assert unverified["signer"]["verified"] is False
    assert (
        "does not verify against the sigstore public-good root" in (unverified["signer"]["detail"])
    )

    bundle = tmp_path / "keyless.tar"
    saved = wasmgate(
        "save", "--plain-http", source.host, "--trusted-root", sigstore.trusted_root,
        "-o", bundle, signed,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    root_out = tmp_path / "trusted_root.json"
    loaded = wasmgate(
        "load", bundle, "--to", target.host, "--plain-http", target.host,
        "--trusted-root-out", root_out,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == [
        f"{target.host}/keyless-inspect/score@{digest}: 0 legacy signature(s), 1 referrer(s), "
        "fallback tag written"
    ]
    assert root_out.read_bytes() == Path(sigstore.trusted_root).read_bytes()

    moved = wasmgate(
        "inspect", "-o", "json", "--plain-http", target.host, "--trusted-root", root_out,
        f"{target.host}/keyless-inspect/score@{digest}",
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    (carried,) = json.loads(moved.stdout)["signatures"]["found"]
    assert carried["signer"]["identity"] == ALICE
    assert carried["discovery"] == "referrers fallback tag sha256-<hex>"
