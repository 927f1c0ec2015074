"""Pull-secret parsing and lookup: what users have in dockerconfigjson works, and never leaks."""

import base64
import json

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.oci.credentials import (
    Credential,
    credentials_from_secret_data,
    parse_dockerconfigjson,
)


def _secret(auths: dict[str, object]) -> dict[str, str]:
    raw = json.dumps({"auths": auths}).encode()
    return {".dockerconfigjson": base64.b64encode(raw).decode()}


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_secret_data_gives_basic_credentials_by_host() -> None:
    creds = credentials_from_secret_data(_secret({"reg.io": {"auth": _auth("u", "p:w")}}))
    assert creds.for_repository("reg.io", "team/plugin") == Credential("u", "p:w")
    assert creds.for_repository("other.io", "team/plugin") is None


def test_longest_path_prefix_wins_and_hub_aliases_fold() -> None:
    creds = parse_dockerconfigjson(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"username": "hub", "password": "a"},
                    "reg.io": {"username": "host", "password": "b"},
                    "reg.io/team": {"username": "team", "password": "c"},
                    "http://reg.io/team/special/": {"registrytoken": "tok"},
                }
            }
        )
    )
    assert creds.for_repository("docker.io", "library/x") == Credential("hub", "a")
    assert creds.for_repository("reg.io", "team/p") == Credential("team", "c")
    assert creds.for_repository("reg.io", "teamx/p") == Credential("host", "b")
    special = creds.for_repository("reg.io", "team/special/p")
    assert special is not None and special.registry_token == "tok"


def test_repr_never_shows_secrets() -> None:
    credential = Credential("user", "hunter2", identity_token="idtok", registry_token="regtok")
    text = repr(credential)
    assert "user" in text
    assert "hunter2" not in text and "idtok" not in text and "regtok" not in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "has no .dockerconfigjson key"),
        ({".dockerconfigjson": "***"}, "is not base64"),
        ({".dockerconfigjson": base64.b64encode(b"{").decode()}, "is not JSON"),
        ({".dockerconfigjson": base64.b64encode(b"{}").decode()}, 'has no "auths" object'),
        (_secret({"reg.io": {"auth": "bm9jb2xvbg=="}}), 'does not decode to "user:password"'),
        (_secret({"reg.io": {"auth": "%%%"}}), "is not base64"),
        (_secret({"reg.io": "x"}), "must be an object"),
        (_secret({"reg.io": {"username": 1}}), "fields must be strings"),
    ],
    ids=[
        "no-key",
        "not-base64",
        "not-json",
        "no-auths",
        "auth-without-colon",
        "auth-garbage",
        "entry-not-object",
        "non-string-field",
    ],
)
def test_bad_secret_data_names_the_problem(data: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSpec) as error:
        credentials_from_secret_data(data, "secret plugins/pull")
    assert error.value.reason == "InvalidSpec"
    assert message in error.value.message
    assert error.value.message.startswith("secret plugins/pull")
