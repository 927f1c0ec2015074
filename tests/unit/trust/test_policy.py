"""Policy semantics: which candidates count, combinators, empty policies, verification keys."""

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wasmgate.errors import InvalidSpec, PolicyViolation, SignatureInvalid, SignatureUntrusted
from wasmgate.trust import (
    AllOf,
    AnyOf,
    Evidence,
    KeyPolicy,
    RegistryAllowList,
    load_public_key,
    verification_key,
)
from wasmgate.trust.candidates import Candidate, Discovery, SignatureCheck, SignatureFormat

DIGEST = "sha256:" + "c" * 64
PAYLOAD = b'{"critical":{}}'
ALICE = ec.generate_private_key(ec.SECP256R1())
BOB = ec.generate_private_key(ec.SECP256R1())
MALLORY = ec.generate_private_key(ec.SECP256R1())


def _key(private: ec.EllipticCurvePrivateKey, name: str):  # type: ignore[no-untyped-def]
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return load_public_key(pem, name)


def _candidate(
    private: ec.EllipticCurvePrivateKey, location: str, hint: bool = False, corrupt: bool = False
) -> Candidate:
    signature = bytearray(private.sign(PAYLOAD, ec.ECDSA(hashes.SHA256())))
    if corrupt:
        signature[-2] ^= 1
    return Candidate(
        SignatureFormat.BUNDLE if hint else SignatureFormat.LEGACY,
        Discovery.REFERRERS_API if hint else Discovery.SIG_TAG,
        location,
        PAYLOAD,
        (bytes(signature),),
        DIGEST,
        None,
        _key(private, "x").fingerprint if hint else None,
    )


def _evidence(*candidates: Candidate, name: str = "reg.io/team/p") -> Evidence:
    return Evidence(name, DIGEST, candidates)


def test_key_policy_records_the_match_and_why_others_failed() -> None:
    evidence = _evidence(_candidate(MALLORY, "sig-m", hint=True), _candidate(ALICE, "sig-a"))
    KeyPolicy([_key(BOB, "bob.pub"), _key(ALICE, "alice.pub")], "plugin keys").verify(evidence)

    assert [(m.key_name, m.location, m.policy) for m in evidence.matches] == [
        ("alice.pub", "sig-a", "plugin keys")
    ]
    assert evidence.matches[0].fingerprint == _key(ALICE, "a").fingerprint
    [rejection] = evidence.rejections
    assert (rejection.location, rejection.failed_check, rejection.reason) == (
        "sig-m",
        SignatureCheck.KEY,
        "SignatureUntrusted",
    )
    assert f"it names key {_key(MALLORY, 'm').fingerprint[:16]}" in rejection.message


def test_untrusted_signatures_fail_with_the_keys_named() -> None:
    policy = KeyPolicy([_key(ALICE, "alice.pub")], "plugin keys")
    with pytest.raises(SignatureUntrusted) as error:
        policy.verify(_evidence(_candidate(MALLORY, "sig-m")))
    assert error.value.reason == "SignatureUntrusted"
    assert error.value.message == (
        f"reg.io/team/p@{DIGEST}: no signature verifies with plugin keys "
        f"({_key(ALICE, 'a').fingerprint[:16]})"
    )


def test_signature_naming_a_trusted_key_that_does_not_verify_is_corrupt() -> None:
    evidence = _evidence(_candidate(ALICE, "sig-a", hint=True, corrupt=True))
    with pytest.raises(SignatureInvalid) as error:
        KeyPolicy([_key(ALICE, "alice.pub")], "plugin keys").verify(evidence)
    assert type(error.value) is SignatureInvalid
    assert "corrupted or was altered" in evidence.rejections[0].message
    assert evidence.rejections[0].reason == "SignatureInvalid"


@pytest.mark.parametrize(
    ("signers", "any_passes", "all_passes"),
    [
        ((ALICE,), True, False),
        ((BOB,), True, False),
        ((ALICE, BOB), True, True),
        ((MALLORY,), False, False),
    ],
    ids=["plugin-key-only", "cluster-key-only", "both", "neither"],
)
def test_any_of_and_all_of(
    signers: tuple[ec.EllipticCurvePrivateKey, ...], any_passes: bool, all_passes: bool
) -> None:
    plugin = KeyPolicy([_key(ALICE, "alice.pub")], "plugin keys")
    cluster = KeyPolicy([_key(BOB, "bob.pub")], "cluster keys")
    for policy, expected in (
        (AnyOf([plugin, cluster]), any_passes),
        (AllOf([plugin, cluster]), all_passes),
    ):
        evidence = _evidence(*(_candidate(s, f"sig-{i}") for i, s in enumerate(signers)))
        if expected:
            policy.verify(evidence)
            assert evidence.matches
        else:
            with pytest.raises(SignatureUntrusted) as error:
                policy.verify(evidence)
            assert "no signature verifies with" in error.value.message


def test_policies_describe_themselves() -> None:
    plugin = KeyPolicy([_key(ALICE, "alice.pub")], "plugin keys")
    allow = RegistryAllowList(["reg.io/*"])
    assert AllOf([plugin, allow]).describe() == (
        f"all of: plugin keys ({_key(ALICE, 'a').fingerprint[:16]}); allowed registries (reg.io/*)"
    )


def test_registry_allow_list() -> None:
    allow = RegistryAllowList(["reg.io/team/*", "mirror.internal/*"])
    allow.verify(_evidence(name="reg.io/team/p"))
    with pytest.raises(PolicyViolation) as error:
        allow.verify(_evidence(name="evil.io/team/p"))
    assert error.value.reason == "PolicyViolation"
    assert "evil.io/team/p is not in allowed registries (reg.io/team/*, mirror.internal/*)" in (
        error.value.message
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: KeyPolicy([], "spec.verify.keys"), "spec.verify.keys: no public keys"),
        (
            lambda: AnyOf([], "cluster policy"),
            "cluster policy: an any-of policy needs at least one",
        ),
        (
            lambda: AllOf([], "cluster policy"),
            "cluster policy: an all-of policy needs at least one",
        ),
        (lambda: RegistryAllowList([]), "allowed registries: no patterns"),
    ],
    ids=["keys", "any-of", "all-of", "allow-list"],
)
def test_empty_policy_is_an_error(build: object, message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        build()  # type: ignore[operator]
    assert error.value.reason == "InvalidSpec" and error.value.permanent
    assert error.value.message.startswith(message)


def test_verification_key_changes_with_digest_keys_and_policy_shape() -> None:
    alice = KeyPolicy([_key(ALICE, "alice.pub")], "plugin keys")
    renamed = KeyPolicy([_key(ALICE, "renamed.pub")], "other name")
    bob = KeyPolicy([_key(BOB, "bob.pub")], "plugin keys")
    both = KeyPolicy([_key(BOB, "b"), _key(ALICE, "a")], "plugin keys")
    both_reordered = KeyPolicy([_key(ALICE, "a"), _key(BOB, "b")], "plugin keys")
    other_digest = "sha256:" + "d" * 64

    assert verification_key(DIGEST, alice) == verification_key(DIGEST, renamed)
    assert verification_key(DIGEST, both) == verification_key(DIGEST, both_reordered)
    keys = {
        verification_key(DIGEST, alice),
        verification_key(DIGEST, bob),
        verification_key(other_digest, alice),
        verification_key(DIGEST, AnyOf([alice, bob])),
        verification_key(DIGEST, AllOf([alice, bob])),
        verification_key(DIGEST, AllOf([alice, RegistryAllowList(["reg.io/*"])])),
    }
    assert len(keys) == 6
