"""One HTTP path to one registry, with every safety rule applied in a single place.

Scheme choice (HTTPS unless allow-listed), the CA bundle, the socket-level address block,
redirects (followed by hand so each hop is checked and credentials stay with the registry),
the 401 challenge dance, and retries with backoff on connection errors, timeouts, 429 and 5xx.
Connections are pooled per process (one pool per set of blocked networks), so the many short
clients of a busy operator (a few requests per plugin pass) reuse them instead of opening a TCP
and TLS session per request; each connection passed the address block when it was opened.
Failures leave here as `WasmgateError`s whose reason separates "the registry is down" from
"you are not allowed" from "it does not exist".
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from wasmgate.errors import InvalidSpec, RegistryAuthFailed, RegistryUnavailable
from wasmgate.oci.auth import Authenticator
from wasmgate.oci.challenge import parse_challenge
from wasmgate.oci.credentials import Credential
from wasmgate.oci.proxy import check_target
from wasmgate.oci.reference import DOCKER_HUB, DOCKER_HUB_ENDPOINT, normalize_registry
from wasmgate.oci.settings import RegistrySettings
from wasmgate.oci.ssrf import AddressBlocked, checked_pool_classes

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
USER_AGENT = "wasmgate"
_TLS_REASON = re.compile(r"certificate verify failed: [^(]+|wrong version number|hostname mismatch")

Body = bytes | Path | None


class _TLSFailure(RegistryUnavailable):
    """TLS verification failed: a configuration problem that retrying at once will not fix."""


def _tls_reason(error: Exception) -> str:
    """OpenSSL's words for the failure ("certificate verify failed: unable to get local issuer
    certificate"), else the exception's class."""
    match = _TLS_REASON.search(str(error))
    return match.group(0).strip() if match else error.__class__.__name__


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, pool_classes: dict[str, type[Any]]) -> None:
        self._pool_classes = pool_classes
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


@functools.lru_cache(maxsize=8)
def _shared_adapter(networks: tuple[Any, ...]) -> _CheckedAdapter:
    """The process's connection pools for registries reached under these blocked networks."""
    return _CheckedAdapter(checked_pool_classes(networks))


class Transport:
    """Requests to one registry host under the given settings and credential."""

    def __init__(
        self,
        registry: str,
        settings: RegistrySettings,
        credential: Credential | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = normalize_registry(registry)
        self.settings = settings
        endpoint = DOCKER_HUB_ENDPOINT if self.registry == DOCKER_HUB else self.registry
        self.scheme = "http" if self.registry in settings.plain_http else "https"
        self.base_url = f"{self.scheme}://{endpoint}"
        self._sleep = sleep
        self._session = requests.Session()
        # Proxies, netrc and REQUESTS_CA_BUNDLE from the environment would bypass the settings.
        self._session.trust_env = False
        self._session.headers["User-Agent"] = USER_AGENT
        adapter = _shared_adapter(settings.networks())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        bundle = settings.ca_bundles.get(self.registry) or settings.default_ca_bundle
        self._verify: bool | str = str(bundle) if bundle else True
        self.auth = Authenticator(self.registry, credential, self._send_raw)

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def close(self) -> None:
        """Nothing to release: the connections stay in the process's pool for the next client
        (closing the session would close the shared adapter's pools)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = True,
    ) -> requests.Response:
        """Send with auth and retries; the caller owns (and must close) the response."""
        url = path if "://" in path else self.base_url + path
        # Registry credentials go only to the registry, not to an upload URL on another host.
        ours = urlsplit(url).netloc == urlsplit(self.base_url).netloc
        delays = self.settings.backoff_delays()
        challenged = False
        attempt = 0
        while True:
            sent = {**(headers or {}), **(self.auth.header(scope) if ours else {})}
            try:
                response = self._send_raw(
                    method, url, headers=sent, params=params, body=body, stream=stream
                )
            except _TLSFailure:
                raise
            except RegistryUnavailable as e:
                if attempt >= len(delays):
                    raise RegistryUnavailable(
                        f"{what}: registry {self.registry} unreachable after "
                        f"{attempt + 1} tries: {e.message}"
                    ) from e
                self._sleep(delays[attempt])
                attempt += 1
                continue
            if response.status_code in (401, 403) and not self._from(response, url):
                raise self._refused_elsewhere(response, what)
            if response.status_code == 401:
                challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
                response.close()
                if not challenged and self.auth.answer(challenge, scope, what):
                    challenged = True
                    continue
                raise RegistryAuthFailed(self._auth_message(what, 401))
            if response.status_code == 403:
                response.close()
                raise RegistryAuthFailed(self._auth_message(what, 403))
            if response.status_code in RETRY_STATUSES:
                response.close()
                if attempt >= len(delays):
                    raise RegistryUnavailable(
                        f"{what}: registry {self.registry} answered HTTP {response.status_code} "
                        f"{attempt + 1} times; it is retried later"
                    )
                self._sleep(delays[attempt])
                attempt += 1
                continue
            return response

    @staticmethod
    def _from(response: requests.Response, url: str) -> bool:
        """Whether the response came from the host `url` names (not from a redirect target)."""
        return urlsplit(response.url).netloc == urlsplit(url).netloc

    def _refused_elsewhere(self, response: requests.Response, what: str) -> RegistryUnavailable:
        # A redirect target (object storage, a CDN) that answers 401/403 is not the registry: its
        # challenge could name any token realm, and answering it would send the pull secret there.
        # Typically a signed URL expired; the registry hands out a fresh one on the next try.
        host = urlsplit(response.url).netloc
        status = response.status_code
        response.close()
        return RegistryUnavailable(
            f"{what}: {host}, where registry {self.registry} redirected the request, answered "
            f"HTTP {status}; credentials go only to the registry, so its challenge is not "
            "answered (retried later)"
        )

    def _auth_message(self, what: str, status: int) -> str:
        if not self.auth.has_credential:
            return (
                f"{what}: registry {self.registry} requires credentials (HTTP {status}); "
                "set spec.source.pullSecretRef to a kubernetes.io/dockerconfigjson Secret "
                f"with an entry for {self.registry}"
            )
        return (
            f"{what}: registry {self.registry} refused the credentials from the pull secret "
            f"(HTTP {status}); check the username and password of its {self.registry} entry "
            "and that the account may pull this repository"
        )

    def _allowed_url(self, url: str) -> str:
        parts = urlsplit(url)
        host = normalize_registry(parts.netloc.rpartition("@")[2])
        if parts.scheme == "https":
            return url
        if parts.scheme == "http" and host in self.settings.plain_http:
            return url
        raise InvalidSpec(
            f'registry {self.registry}: refusing to use "{parts.scheme}://{host}" without TLS; '
            "add the host to the registry settings' plain-http list if this is intended"
        )

    def _send_raw(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        body: Body = None,
        data: Mapping[str, str] | None = None,
        stream: bool = True,
    ) -> requests.Response:
        """One exchange, redirects followed by hand; connection problems as RegistryUnavailable."""
        # Credentials go only to the host they were meant for, not to a redirect target.
        origin = urlsplit(url).netloc
        sent = dict(headers or {})
        for _ in range(MAX_REDIRECTS + 1):
            url = self._allowed_url(url)
            if urlsplit(url).netloc != origin:
                sent.pop("Authorization", None)
                if data is not None:
                    # The only form we post is a token request carrying a refresh token.
                    raise RegistryAuthFailed(
                        f"registry {self.registry}: the token server {origin} redirected to "
                        f"{urlsplit(url).netloc}; the refresh token is not sent to another host"
                    )
            try:
                if isinstance(body, Path):
                    with body.open("rb") as handle:
                        response = self._exchange(method, url, sent, params, handle, data, stream)
                else:
                    response = self._exchange(method, url, sent, params, body, data, stream)
            except AddressBlocked as e:
                raise InvalidSpec(
                    f"registry {self.registry}: {e}; wasmgate does not connect to link-local or "
                    "cloud metadata addresses"
                ) from e
            except requests.exceptions.SSLError as e:
                raise _TLSFailure(
                    f"TLS with {urlsplit(url).netloc} failed ({_tls_reason(e)}); if the "
                    "registry uses a private CA, give its bundle (`wasmgate run` and `wasmgate "
                    "agent`: --registry-ca-configmap; other commands: --ca-file)"
                ) from e
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
                raise RegistryUnavailable(f"{e.__class__.__name__} talking to {url}") from e
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                break
            url = urljoin(url, location)
            params = None
            if response.status_code == 303:
                method, body = "GET", None
        raise RegistryUnavailable(f"registry {self.registry}: too many or empty redirects")

    def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str | list[str]] | None,
        body: Any,
        data: Mapping[str, str] | None,
        stream: bool,
    ) -> requests.Response:
        return self._session.request(
            method,
            url,
            headers=dict(headers),
            params=params,
            data=body if data is None else data,
            stream=stream,
            verify=self._verify,
            allow_redirects=False,
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            proxies=self._proxies(url),
        )

    def _proxies(self, url: str) -> dict[str, str]:
        """The proxy for this URL, its target judged first; none for plain HTTP, whose
        credentials would reach the proxy in clear, and for hosts the bypass list names."""
        proxy = self.settings.proxy
        parts = urlsplit(url)
        if proxy is None or parts.scheme != "https" or not proxy.applies_to(parts.netloc):
            return {}
        check_target(parts.hostname or "", parts.port or 443, self.settings.networks())
        return {"https": proxy.url}
