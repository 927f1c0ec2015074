"""An undecoded client response is parsed as JSON and its connection always released."""

from __future__ import annotations

import json

import pytest

from wasmgate.runner.kube_json import response_json


class Response:
    """The two members of urllib3's HTTPResponse that response_json uses."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.released = False

    def release_conn(self) -> None:
        self.released = True


def test_the_body_is_parsed_and_the_connection_released() -> None:
    body = {"kind": "Deployment", "metadata": {"name": "s"}, "spec": {"replicas": 1}}
    response = Response(json.dumps(body).encode())
    assert response_json(response) == body
    assert response.released


def test_a_body_that_is_not_json_still_releases_the_connection() -> None:
    response = Response(b"<html>proxy error</html>")
    with pytest.raises(ValueError):
        response_json(response)
    assert response.released
