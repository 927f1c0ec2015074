"""WWW-Authenticate parsing: scopes contain commas, values may be quoted or bare."""

import pytest

from wasmgate.oci.challenge import Challenge, parse_challenge


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Basic realm="kit"', Challenge("basic", {"realm": "kit"})),
        (
            'Bearer realm="https://auth.io/token",service="reg.io",'
            'scope="repository:a/b:pull,push"',
            Challenge(
                "bearer",
                {
                    "realm": "https://auth.io/token",
                    "service": "reg.io",
                    "scope": "repository:a/b:pull,push",
                },
            ),
        ),
        (
            "Bearer realm=https://a/t, service=x",
            Challenge("bearer", {"realm": "https://a/t", "service": "x"}),
        ),
        ('Basic realm="say \\"hi\\""', Challenge("basic", {"realm": 'say "hi"'})),
        ("", None),
        ("realm=x", None),
    ],
    ids=["basic", "bearer-with-comma-scope", "unquoted", "escaped-quote", "empty", "no-scheme"],
)
def test_parse_challenge(header: str, expected: Challenge | None) -> None:
    assert parse_challenge(header) == expected
