"""Keyless signatures made by the real cosign against the kit's sigstore instance, verified offline.

Each plugin is pushed to a real registry and signed by `cosign sign` with an ID token from the
kit's OIDC issuer: Fulcio issues the certificate (with an SCT from the kit's CT log) and Rekor
logs the entry. Verification uses the kit's trusted_root.json only; one test runs it in a network
namespace with no interface but loopback (nothing to connect to) and no home directory.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.artifacts import credentials_for, push_cncf, settings_for, wasm_bytes
from support.keyless import KeylessSigner, handmade_bundle
from support.local_registries import Registries
from support.registries import LocalRegistry
from support.trust_mutations import mutated_bytes, mutated_json
from wasmgate.errors import SignatureInvalid, SignatureUntrusted, WasmgateError
from wasmgate.oci import RegistryClient, Resolved, resolve
from wasmgate.trust import VerificationResult, verify
from wasmgate.trust.bundle import parse_bundle
from wasmgate.trust.candidates import Discovery, SignatureFormat
from wasmgate.trust.keyless import KeylessIdentity, KeylessPolicy, verify_keyless
from wasmgate.trust.trusted_root import (
    TrustedRoot,
    load_trusted_root,
    production_trusted_root,
)
from wasmgate_kit.sigstore_stack import SigstoreStack

pytestmark = pytest.mark.e2e

ALICE = "alice@example.test"
BOB = "bob@example.test"


@dataclass(frozen=True)
class Signed:
    registry: LocalRegistry
    resolved: Resolved
    bundle: Path
    """The bundle cosign wrote (the same one it attached to the image)."""


@pytest.fixture(scope="module")
def signer(
    sigstore: SigstoreStack, cosign_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> KeylessSigner:
    return KeylessSigner(cosign_bin, sigstore, tmp_path_factory.mktemp("keyless"))


@pytest.fixture(scope="module")
def root(sigstore: SigstoreStack) -> TrustedRoot:
    return load_trusted_root(Path(sigstore.trusted_root).read_bytes(), "the kit's trusted root")


def _push_and_sign(
    signer: KeylessSigner, registry: LocalRegistry, repo: str, subject: str, issuer: str
) -> Signed:
    ref = f"{registry.host}/keyless/{repo}:v1"
    digest = push_cncf(registry, ref, wasm_bytes(f"{ref}-{subject}"), signer.workdir)
    bundle = signer.workdir / f"{repo}.bundle.json"
    signer.sign(registry, f"{registry.host}/keyless/{repo}@{digest}", subject, issuer, bundle)
    resolved = resolve(ref, settings_for(registry), credentials_for(registry))
    return Signed(registry, resolved, bundle)


@pytest.fixture(scope="module")
def by_alice(signer: KeylessSigner, registries: Registries) -> Signed:
    return _push_and_sign(signer, registries["oci"], "alice", ALICE, "issuer-a")


@pytest.fixture(scope="module")
def by_bob(signer: KeylessSigner, registries: Registries) -> Signed:
    return _push_and_sign(signer, registries["oci"], "bob", BOB, "issuer-a")


def _verify(signed: Signed, policy: KeylessPolicy) -> VerificationResult:
    registry, resolved = signed.registry, signed.resolved
    with RegistryClient(
        resolved.registry, settings_for(registry), credentials_for(registry), resolved.repository
    ) as client:
        return verify(resolved, policy, client)


def _policy(root: TrustedRoot, *identities: KeylessIdentity) -> KeylessPolicy:
    return KeylessPolicy(identities, root, "spec.verify")


def test_identity_a_verifies_and_is_named(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack
) -> None:
    issuer = sigstore.issuer("issuer-a")
    result = _verify(by_alice, _policy(root, KeylessIdentity(issuer, ALICE)))
    match = result.primary
    assert (match.identity, match.issuer) == (ALICE, issuer)
    assert match.algorithm == "keyless"
    assert match.format == SignatureFormat.BUNDLE
    assert match.discovery == Discovery.REFERRERS_API
    assert result.digest == by_alice.resolved.digest


def test_policy_for_b_rejects_naming_both(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack
) -> None:
    issuer = sigstore.issuer("issuer-a")
    with pytest.raises(SignatureUntrusted) as error:
        _verify(by_alice, _policy(root, KeylessIdentity(issuer, BOB)))
    assert error.value.reason == "SignatureUntrusted"
    assert f"signed by {ALICE} from {issuer}" in error.value.message
    assert f"wants {BOB} from {issuer}" in error.value.message


@pytest.mark.parametrize(
    ("pattern", "accepted"),
    [
        (r".*@example\.test", True),
        (r"(alice|carol)@example\.test", True),
        (r"alice", False),
        (r"example\.test", False),
        (r"bob@.*", False),
    ],
    ids=["domain", "alternatives", "substring-not-enough", "suffix-not-enough", "other-user"],
)
def test_subject_regexp_is_anchored(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack, pattern: str, accepted: bool
) -> None:
    identity = KeylessIdentity(sigstore.issuer("issuer-a"), subject_regexp=pattern)
    if accepted:
        assert _verify(by_alice, _policy(root, identity)).primary.identity == ALICE
        return
    with pytest.raises(SignatureUntrusted) as error:
        _verify(by_alice, _policy(root, identity))
    assert f"wants /{pattern}/ from" in error.value.message


def test_any_of_identities(by_bob: Signed, root: TrustedRoot, sigstore: SigstoreStack) -> None:
    issuer = sigstore.issuer("issuer-a")
    policy = _policy(root, KeylessIdentity(issuer, ALICE), KeylessIdentity(issuer, BOB))
    assert _verify(by_bob, policy).primary.identity == BOB


def test_issuer_mismatch_rejected(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack
) -> None:
    wanted, actual = sigstore.issuer("issuer-b"), sigstore.issuer("issuer-a")
    with pytest.raises(SignatureUntrusted) as error:
        _verify(by_alice, _policy(root, KeylessIdentity(wanted, ALICE)))
    assert f"signed by {ALICE} from {actual}" in error.value.message
    assert f"wants {ALICE} from {wanted}" in error.value.message


def test_keyless_on_a_registry_without_referrers(
    signer: KeylessSigner, registries: Registries, root: TrustedRoot, sigstore: SigstoreStack
) -> None:
    signed = _push_and_sign(signer, registries["distribution"], "fallback", ALICE, "issuer-a")
    result = _verify(signed, _policy(root, KeylessIdentity(sigstore.issuer("issuer-a"), ALICE)))
    assert result.primary.discovery == Discovery.FALLBACK_TAG
    assert result.primary.identity == ALICE


def test_bundle_with_another_rekor_entry_rejected(
    by_alice: Signed, by_bob: Signed, root: TrustedRoot
) -> None:
    alice, bob = json.loads(by_alice.bundle.read_text()), json.loads(by_bob.bundle.read_text())
    alice["verificationMaterial"]["tlogEntries"] = bob["verificationMaterial"]["tlogEntries"]
    candidate = parse_bundle(json.dumps(alice).encode(), "spliced", Discovery.REFERRERS_API)
    with pytest.raises(SignatureInvalid) as error:
        verify_keyless(candidate, root)
    assert error.value.reason == "SignatureInvalid"
    assert "spliced: the keyless signature does not verify against the kit's trusted root" in (
        error.value.message
    )
    assert "log entry" in error.value.message


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-120, -60, "cert is not valid at validation time"),
        (-1, 9, "failed to verify SCT on signing certificate"),
    ],
    ids=["expired-at-log-time", "control-valid-at-log-time-but-no-sct"],
)
def test_certificate_outside_validity_at_log_time_rejected(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack, start: int, end: int, message: str
) -> None:
    """A certificate from the kit's CA, valid only an hour before its entry was logged in Rekor.
    The control differs only in validity: it gets past the time check and fails on the SCT that
    only Fulcio could have obtained, so the first case fails for its validity and nothing else."""
    now = datetime.datetime.now(datetime.UTC)
    data = handmade_bundle(
        sigstore,
        by_alice.resolved.digest,
        ALICE,
        sigstore.issuer("issuer-a"),
        now + datetime.timedelta(minutes=start),
        now + datetime.timedelta(minutes=end),
    )
    candidate = parse_bundle(data, "handmade", Discovery.REFERRERS_API)
    with pytest.raises(SignatureInvalid) as error:
        verify_keyless(candidate, root)
    assert error.value.message.startswith(
        "handmade: the keyless signature does not verify against the kit's trusted root: "
    )
    assert message in error.value.message


def test_another_root_rejects(by_alice: Signed) -> None:
    candidate = parse_bundle(by_alice.bundle.read_bytes(), "kit bundle", Discovery.REFERRERS_API)
    with pytest.raises(SignatureInvalid) as error:
        verify_keyless(candidate, production_trusted_root())
    assert "does not verify against the sigstore public-good root" in error.value.message


_CHILD = """
import sys
from pathlib import Path
from wasmgate.trust.bundle import parse_bundle
from wasmgate.trust.candidates import Discovery
from wasmgate.trust.keyless import verify_keyless
from wasmgate.trust.trusted_root import load_trusted_root
import socket
try:
    socket.create_connection(("{host}", {port}), timeout=2)
except OSError as e:
    print("connect refused:", type(e).__name__)
else:
    sys.exit("the namespace can reach the kit's Rekor; the test proves nothing")
root = load_trusted_root(Path(sys.argv[1]).read_bytes(), "kit root")
candidate = parse_bundle(Path(sys.argv[2]).read_bytes(), "offline", Discovery.REFERRERS_API)
signer = verify_keyless(candidate, root)
print("signer:", signer.subject, signer.issuer)
"""


def test_verification_needs_no_network_and_no_home(
    by_alice: Signed, sigstore: SigstoreStack, tmp_path: Path
) -> None:
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux unshare is needed to cut the network"
    host, port = sigstore.rekor_url.removeprefix("http://").split(":")
    script = tmp_path / "offline.py"
    script.write_text(_CHILD.format(host=host, port=port))
    done = subprocess.run(
        [
            unshare,
            "--net",
            sys.executable,
            str(script),
            sigstore.trusted_root,
            str(by_alice.bundle),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "connect refused:" in done.stdout
    assert f"signer: {ALICE} {sigstore.issuer('issuer-a')}" in done.stdout


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_keyless_bundles_give_a_clear_error(
    by_alice: Signed, root: TrustedRoot, data: st.DataObject
) -> None:
    """Every damage to a real keyless bundle (JSON structure or bytes) either still verifies as
    alice or is a SignatureInvalid: sigstore-python's own exceptions never escape."""
    original = by_alice.bundle.read_bytes()
    damaged = data.draw(
        st.one_of(
            mutated_json(json.loads(original)).map(lambda d: json.dumps(d).encode()),
            mutated_bytes(original),
        )
    )
    try:
        signer = verify_keyless(parse_bundle(damaged, "damaged", Discovery.REFERRERS_API), root)
    except WasmgateError as e:
        assert e.reason == "SignatureInvalid"
        assert e.message.startswith("damaged: ")
        return
    assert (signer.subject, signer.issuer.endswith("/issuer-a")) == (ALICE, True)


_AUDITING: list[tuple[str, object]] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _AUDITING is not None and event in ("socket.connect", "socket.getaddrinfo"):
        _AUDITING.append((event, args[1] if event == "socket.connect" else args[:2]))


sys.addaudithook(_audit)


def test_the_whole_verification_connects_only_to_the_registry(
    by_alice: Signed, root: TrustedRoot, sigstore: SigstoreStack
) -> None:
    """The full `trust.verify` (discovery in the registry, then sigstore-python): every socket
    connect and name lookup in this process goes to the registry; none to Rekor, Fulcio, the CT
    log, the issuer or a TUF repository."""
    global _AUDITING
    _AUDITING = []
    try:
        result = _verify(by_alice, _policy(root, KeylessIdentity(sigstore.issuer(), ALICE)))
    finally:
        seen, _AUDITING = _AUDITING, None
    assert result.primary.identity == ALICE
    host, port = by_alice.registry.host.split(":")
    connects = {args for event, args in seen if event == "socket.connect"}
    lookups = {args for event, args in seen if event == "socket.getaddrinfo"}
    assert connects == {(host, int(port))}
    assert lookups <= {(host, int(port)), (host, port)}
