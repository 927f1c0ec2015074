"""`--https-proxy` and `--no-proxy` of `wasmgate run` and `wasmgate agent`, and the standard
HTTPS_PROXY / NO_PROXY variables they override.

Both processes pull from registries, so both honour the same proxy. The registry client ignores
the environment by default (requests' own proxy handling would bypass the SSRF guard and send
plain-HTTP credentials to the proxy); this module is the one place it is read, validated at
start-up, with errors naming the flag or variable that was wrong.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from wasmgate.oci.proxy import ProxySettings, parse_no_proxy, parse_proxy

FLAG = "--https-proxy"
NO_PROXY_FLAG = "--no-proxy"
ENV = "WASMGATE_HTTPS_PROXY"
NO_PROXY_ENV = "WASMGATE_NO_PROXY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Both flags, with the same help on both commands."""
    parser.add_argument(
        FLAG,
        default=None,
        metavar="URL",
        help="proxy for HTTPS registry traffic, http://HOST:PORT (CONNECT tunnels; plain-HTTP "
        "registries are reached directly). Default: $HTTPS_PROXY or $https_proxy",
    )
    parser.add_argument(
        NO_PROXY_FLAG,
        default=None,
        metavar="HOSTS",
        help="comma-separated hosts reached without the proxy: host, host:port, .domain, an "
        "address or CIDR, * for all. Default: $NO_PROXY or $no_proxy",
    )


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name)
        if value:
            return name, value
    return None


def proxy_from(
    env: Mapping[str, str], url_flag: str | None = None, no_proxy_flag: str | None = None
) -> ProxySettings | None:
    """The proxy the flags (else the variables) ask for; InvalidSpec naming the wrong one."""
    url = (FLAG, url_flag) if url_flag else _first(env, ENV, "HTTPS_PROXY", "https_proxy")
    if url is None:
        return None
    bypass = (
        (NO_PROXY_FLAG, no_proxy_flag)
        if no_proxy_flag is not None
        else _first(env, NO_PROXY_ENV, "NO_PROXY", "no_proxy")
    )
    name, value = bypass or (NO_PROXY_FLAG, "")
    return parse_proxy(url[1], value, url[0], name)


def check_flags(url_flag: str | None, no_proxy_flag: str | None) -> None:
    """Refuse malformed flags by their own names, before they are exported to the environment."""
    if url_flag:
        parse_proxy(url_flag, "", FLAG, NO_PROXY_FLAG)
    if no_proxy_flag is not None:
        parse_no_proxy(no_proxy_flag, NO_PROXY_FLAG)
