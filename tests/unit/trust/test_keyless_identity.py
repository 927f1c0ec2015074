"""Which identities a keyless policy accepts: exact issuer, exact or anchored subject."""

from __future__ import annotations

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.trust.keyless import KeylessIdentity, decode_der_utf8

GITHUB = "https://token.actions.githubusercontent.com"
WORKFLOW = "https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/v1.2.0"


@pytest.mark.parametrize(
    ("identity", "subject", "issuer", "accepted"),
    [
        (KeylessIdentity(GITHUB, WORKFLOW), WORKFLOW, GITHUB, True),
        (KeylessIdentity(GITHUB, WORKFLOW), WORKFLOW, GITHUB + "/", False),
        (KeylessIdentity(GITHUB, WORKFLOW), WORKFLOW + "x", GITHUB, False),
        (
            KeylessIdentity(
                GITHUB, subject_regexp=r"https://github\.com/acme/plugins/.*@refs/tags/v.*"
            ),
            WORKFLOW,
            GITHUB,
            True,
        ),
        (
            KeylessIdentity(
                GITHUB, subject_regexp=r"https://github\.com/acme/plugins/.*@refs/tags/v.*"
            ),
            "https://github.com/evil/x/.github/workflows/a.yml@refs/tags/v1?https://github.com/acme/plugins/",
            GITHUB,
            False,
        ),
        (KeylessIdentity(GITHUB, subject_regexp="acme"), WORKFLOW, GITHUB, False),
        (KeylessIdentity(GITHUB, subject_regexp=".*"), WORKFLOW, "https://other.example", False),
    ],
    ids=[
        "exact",
        "issuer-compared-exactly",
        "subject-compared-exactly",
        "regexp-whole-subject",
        "regexp-cannot-match-a-prefix-only",
        "regexp-substring-is-not-a-match",
        "regexp-never-widens-the-issuer",
    ],
)
def test_matches(identity: KeylessIdentity, subject: str, issuer: str, accepted: bool) -> None:
    assert identity.matches(subject, issuer) is accepted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of subject and subjectRegExp"),
        ({"subject": "a", "subject_regexp": "b"}, "give exactly one of subject and subjectRegExp"),
        ({"subject_regexp": "("}, "subjectRegExp '(' is not a regular expression"),
    ],
    ids=["neither", "both", "bad-regexp"],
)
def test_bad_identities_are_invalid_spec(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        KeylessIdentity(GITHUB, **kwargs)
    assert error.value.reason == "InvalidSpec"
    assert message in error.value.message


def test_identity_text_is_canonical_and_distinguishes_kinds() -> None:
    exact, regexp = KeylessIdentity(GITHUB, "a"), KeylessIdentity(GITHUB, subject_regexp="a")
    assert exact.identity() != regexp.identity()
    assert exact.describe() == f"a from {GITHUB}"
    assert regexp.describe() == f"/a/ from {GITHUB}"


@pytest.mark.parametrize(
    ("der", "text"),
    [
        (b"\x0c\x05hello", "hello"),
        (b"\x0c\x81\x80" + b"a" * 128, "a" * 128),
    ],
    ids=["short-length", "long-length"],
)
def testdecode_der_utf8(der: bytes, text: str) -> None:
    assert decode_der_utf8(der) == text


@pytest.mark.parametrize(
    "der", [b"\x13\x01a", b"\x0c\x05hi", b"\x0c"], ids=["printable-string", "short", "truncated"]
)
def testdecode_der_utf8_refuses_other_encodings(der: bytes) -> None:
    with pytest.raises(ValueError, match="DER UTF8String"):
        decode_der_utf8(der)
