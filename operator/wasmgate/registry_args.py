"""Registry flags shared by the commands that read or write artifacts (inspect, verify, save, load).

Each of those commands reaches registries the way `wasmgate validate REF` does: HTTPS unless a
host is listed with `--plain-http`, a per-host CA with `--ca-file HOST=FILE`, and credentials
from the docker config the user already logged in with. One module so the flags mean the same
in every command and a bad value gets the same error naming the flag and the fix.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from wasmgate.errors import InvalidSpec
from wasmgate.oci.credentials import Credentials, parse_dockerconfigjson
from wasmgate.oci.reference import normalize_registry
from wasmgate.oci.settings import RegistrySettings

DEFAULT_DOCKER_CONFIG = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / (
    "config.json"
)


def add_registry_arguments(parser: argparse.ArgumentParser, docker_config: bool = True) -> None:
    """`--plain-http`, `--ca-file` and (unless the command takes credentials from elsewhere)
    `--docker-config`."""
    parser.add_argument(
        "--plain-http",
        action="append",
        default=[],
        metavar="REGISTRY",
        help="talk HTTP, not HTTPS, to this registry host[:port] (repeatable)",
    )
    parser.add_argument(
        "--ca-file",
        action="append",
        default=[],
        metavar="REGISTRY=FILE",
        help="PEM CA bundle that replaces the system roots for this registry (repeatable)",
    )
    if not docker_config:
        return
    parser.add_argument(
        "--docker-config",
        type=Path,
        default=DEFAULT_DOCKER_CONFIG,
        metavar="FILE",
        help="docker config with registry credentials (default: $DOCKER_CONFIG/config.json)",
    )


def _host(text: str, flag: str) -> str:
    if not text or "/" in text or text != text.strip():
        raise InvalidSpec(
            f'{flag}: "{text}" is not a registry host; write host[:port], e.g. 127.0.0.1:5000'
        )
    return normalize_registry(text)


def _ca_bundles(values: list[str]) -> dict[str, Path]:
    bundles = {}
    for value in values:
        host, sep, file = value.partition("=")
        if not sep or not file:
            raise InvalidSpec(
                f'--ca-file: "{value}" is not REGISTRY=FILE; write e.g. '
                "--ca-file registry.corp.example=/etc/ssl/corp-ca.pem"
            )
        path = Path(file)
        if not path.is_file():
            raise InvalidSpec(f"--ca-file: {path} is not a readable file; give a PEM CA bundle")
        bundles[_host(host, "--ca-file")] = path
    return bundles


def registry_settings(args: argparse.Namespace) -> RegistrySettings:
    """The settings the flags ask for; InvalidSpec naming the flag when one is malformed."""
    return RegistrySettings(
        plain_http=frozenset(_host(h, "--plain-http") for h in args.plain_http),
        ca_bundles=_ca_bundles(args.ca_file),
    )


def credentials(args: argparse.Namespace) -> Credentials:
    """Credentials from `--docker-config`; none when the file does not exist."""
    path: Path = args.docker_config
    if not path.is_file():
        return Credentials()
    return parse_dockerconfigjson(path.read_bytes(), str(path))
