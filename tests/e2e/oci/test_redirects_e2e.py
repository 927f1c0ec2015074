"""Blob redirects against a real registry: every hop passes the SSRF guard, credentials stay with
the registry, and a redirect to a blocked address is refused with its reason.

Registries commonly answer a blob GET with a redirect to object storage or a CDN. Here Debian's
docker-registry (the kit's `docker-registry` binary) runs with distribution's `redirect` storage
middleware, so it answers every blob GET with `307 Location: <baseurl>/<storage path>`, and
behind htpasswd, so the first hop carries our Authorization header. The redirect target is a
second local HTTP server on another loopback address (127.0.0.2) that serves the registry's
storage directory, as object storage would, and records every request it gets; a third
(127.0.0.3) is the far end of a second hop. The SSRF guard is watched at the point where it
judges each new connection (`ssrf._check_socket`).
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bcrypt
import pytest
import requests

from support.artifacts import wasm_bytes
from support.local_registries import distribution_registry
from support.registries import LocalRegistry
from wasmgate.errors import InvalidSpec, RegistryAuthFailed, RegistryUnavailable
from wasmgate.oci import (
    Credentials,
    RegistrySettings,
    Resolved,
    fetch_layer,
    parse_dockerconfigjson,
    push_wasm,
    resolve,
    ssrf,
)
from wasmgate.oci.settings import DEFAULT_BLOCKED_NETWORKS, IPNetwork
from wasmgate.oci.transport import Transport

pytestmark = pytest.mark.e2e

NAME = "distribution-redirect"
USER = "plugin-author"
BLOB_HOST = "127.0.0.2"
FAR_HOST = "127.0.0.3"
# ThreadingHTTPServer threads are daemons; this bounds the wait for one at shutdown.
SHUTDOWN_SECONDS = 5


@dataclass
class Seen:
    """One request the object store got."""

    method: str
    path: str
    authorization: str | None


@dataclass
class ObjectStore:
    """A plain HTTP server over the registry's storage directory, as object storage would be,
    that can instead redirect (`bounce`) or challenge (`challenge`) every request."""

    address: str
    root: Path
    seen: list[Seen] = field(default_factory=list)
    bounce: str | None = None
    """Base URL to redirect every request to (the path is kept)."""
    challenge: str | None = None
    """A WWW-Authenticate value to answer 401 with."""

    def __post_init__(self) -> None:
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_POST(self) -> None:
                self._answer(body=True)

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, body: bool) -> None:
                store.seen.append(Seen(self.command, self.path, self.headers["Authorization"]))
                if store.challenge is not None:
                    self._status(401, {"WWW-Authenticate": store.challenge})
                elif store.bounce is not None:
                    self._status(307, {"Location": store.bounce + self.path})
                else:
                    self._serve(body)

            def _serve(self, body: bool) -> None:
                path = (store.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
                if not path.is_relative_to(store.root.resolve()) or not path.is_file():
                    self._status(404, {})
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _status(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((self.address, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"{self.address}:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> None:
        self.seen.clear()
        self.bounce = self.challenge = None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(SHUTDOWN_SECONDS)


@dataclass
class Redirecting:
    """The registry, its object store, a farther host, and the artifact pushed there."""

    registry: LocalRegistry
    store: ObjectStore
    far: ObjectStore
    reference: str
    data: bytes

    @property
    def credentials(self) -> Credentials:
        return parse_dockerconfigjson(self.registry.dockerconfig())

    def settings(self, *blocked: str) -> RegistrySettings:
        hosts = {self.registry.host, self.store.host, self.far.host}
        return RegistrySettings(
            plain_http=frozenset(hosts),
            blocked_networks=(*DEFAULT_BLOCKED_NETWORKS, *blocked),
            attempts=1,
        )

    def resolved(self) -> Resolved:
        return resolve(self.reference, self.settings(), self.credentials)

    def fetch(self, destination: Path, settings: RegistrySettings) -> bytes:
        resolved = self.resolved()
        fetch_layer(resolved, destination, settings, self.credentials)
        return destination.read_bytes()


@pytest.fixture(scope="module")
def redirecting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redirecting]:
    root = tmp_path_factory.mktemp("redirects")
    store = ObjectStore(BLOB_HOST, root / NAME)
    far = ObjectStore(FAR_HOST, root / NAME)
    password = secrets.token_hex(16)
    htpasswd = root / "htpasswd"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    htpasswd.write_text(f"{USER}:{hashed}\n")
    registry = distribution_registry(
        root,
        NAME,
        auth={"htpasswd": {"realm": "wasmgate-redirect", "path": str(htpasswd)}},
        middleware={"storage": [{"name": "redirect", "options": {"baseurl": store.url}}]},
    )
    registry.username, registry.password = USER, password
    try:
        registry.start()
        data = wasm_bytes("redirected")
        module = root / "plugin.wasm"
        module.write_bytes(data)
        reference = f"{registry.host}/redirects/plugin:v1"
        setup = Redirecting(registry, store, far, reference, data)
        push_wasm(module, reference, setup.settings(), setup.credentials)
        yield setup
    finally:
        registry.stop()
        store.close()
        far.close()


@pytest.fixture
def setup(redirecting: Redirecting) -> Iterator[Redirecting]:
    redirecting.store.reset()
    redirecting.far.reset()
    yield redirecting
    redirecting.store.reset()
    redirecting.far.reset()


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(host asked for, address connected to) of every connection the SSRF guard judged."""
    judged: list[tuple[str, str]] = []
    real = ssrf._check_socket

    def watching(sock: socket.socket, host: str, networks: Sequence[IPNetwork]) -> None:
        judged.append((host, str(sock.getpeername()[0])))
        real(sock, host, networks)

    monkeypatch.setattr(ssrf, "_check_socket", watching)
    return judged


def _blob_path(digest: str) -> str:
    hex_digest = digest.split(":", 1)[1]
    return f"/docker/registry/v2/blobs/sha256/{hex_digest[:2]}/{hex_digest}/data"


def test_the_registry_redirects_blob_gets_and_wants_credentials(setup: Redirecting) -> None:
    """The premise: anonymous reads are refused, and a blob GET is answered with a redirect."""
    with pytest.raises(RegistryAuthFailed):
        resolve(setup.reference, setup.settings())
    layer = setup.resolved().layer_digest
    url = f"http://{setup.registry.host}/v2/redirects/plugin/blobs/{layer}"
    login = (USER, setup.registry.password or "")
    with requests.get(url, auth=login, allow_redirects=False, timeout=10) as response:
        assert response.status_code == 307, response.text
        assert response.headers["Location"] == setup.store.url + _blob_path(layer)
    assert setup.store.seen == []


def test_a_redirected_blob_arrives_verified_and_every_hop_is_checked(
    setup: Redirecting, checked: list[tuple[str, str]], tmp_path: Path
) -> None:
    fetched = setup.fetch(tmp_path / "x.wasm", setup.settings())
    assert fetched == setup.data
    layer = setup.resolved().layer_digest
    assert [(s.method, s.path) for s in setup.store.seen] == [("GET", _blob_path(layer))]
    # The registry got our login (it refuses anonymous reads); its redirect target did not.
    assert [s.authorization for s in setup.store.seen] == [None]
    addresses = {address for _, address in checked}
    assert addresses == {"127.0.0.1", BLOB_HOST}, checked
    assert (BLOB_HOST, BLOB_HOST) in checked


def test_a_second_hop_is_checked_and_gets_no_credentials_either(
    setup: Redirecting, checked: list[tuple[str, str]], tmp_path: Path
) -> None:
    setup.store.bounce = setup.far.url
    assert setup.fetch(tmp_path / "x.wasm", setup.settings()) == setup.data
    assert [s.authorization for s in setup.store.seen + setup.far.seen] == [None, None]
    assert len(setup.far.seen) == 1
    assert {address for _, address in checked} == {"127.0.0.1", BLOB_HOST, FAR_HOST}, checked


@pytest.mark.parametrize(
    ("bounce", "blocked"),
    [(False, BLOB_HOST), (True, FAR_HOST)],
    ids=["first-redirect-target-blocked", "second-hop-blocked"],
)
def test_a_redirect_to_a_blocked_address_is_refused_with_its_reason(
    setup: Redirecting, tmp_path: Path, bounce: bool, blocked: str
) -> None:
    if bounce:
        setup.store.bounce = setup.far.url
    settings = setup.settings(f"{blocked}/32")
    with pytest.raises(InvalidSpec) as refused:
        setup.fetch(tmp_path / "x.wasm", settings)
    assert refused.value.reason == "InvalidSpec"
    assert f"connected to {blocked}, which is in blocked network {blocked}/32" in (
        refused.value.message
    )
    assert "does not connect to link-local or cloud metadata addresses" in refused.value.message
    assert not (tmp_path / "x.wasm").exists()
    # The socket was closed as soon as it connected: the blocked server got no request.
    reached = setup.far.seen if bounce else setup.store.seen
    assert reached == []


def test_a_redirect_to_plain_http_elsewhere_is_refused(setup: Redirecting, tmp_path: Path) -> None:
    settings = RegistrySettings(plain_http=frozenset({setup.registry.host}), attempts=1)
    with pytest.raises(InvalidSpec) as refused:
        setup.fetch(tmp_path / "x.wasm", settings)
    assert f'refusing to use "http://{setup.store.host}" without TLS' in refused.value.message
    assert setup.store.seen == []


def test_a_challenge_from_the_redirect_target_is_not_answered(
    setup: Redirecting, tmp_path: Path
) -> None:
    """A redirect target naming a token realm (its own) must not receive the pull secret."""
    setup.store.challenge = f'Bearer realm="{setup.store.url}/token",service="storage"'
    with pytest.raises(RegistryUnavailable) as refused:
        setup.fetch(tmp_path / "x.wasm", setup.settings())
    assert f"{setup.store.host}, where registry {setup.registry.host} redirected" in (
        refused.value.message
    )
    assert "credentials go only to the registry" in refused.value.message
    assert [s.path.split("?")[0] for s in setup.store.seen if "/token" in s.path] == []
    assert [s.authorization for s in setup.store.seen] == [None]


def test_a_refresh_token_is_not_posted_to_another_host(setup: Redirecting) -> None:
    """The only form wasmgate posts is an OAuth2 refresh-token request to a token realm; a realm
    that redirects it elsewhere does not get it re-sent there."""
    setup.store.bounce = setup.far.url
    transport = Transport(setup.registry.host, setup.settings(), None)
    try:
        with pytest.raises(RegistryAuthFailed) as refused:
            transport._send_raw("POST", f"{setup.store.url}/token", data={"refresh_token": "x"})
    finally:
        transport.close()
    assert "the refresh token is not sent to another host" in refused.value.message
    assert [s.method for s in setup.store.seen] == ["POST"]
    assert setup.far.seen == []
