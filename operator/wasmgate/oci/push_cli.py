"""`wasmgate push FILE REF`: the plugin author's way to publish a module for signing.

Credentials come from the docker config the author already logged in with (`docker login`,
`oras login`), read the same way the operator reads pull secrets.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wasmgate.errors import WasmgateError
from wasmgate.oci.credentials import Credentials, parse_dockerconfigjson
from wasmgate.oci.push import push_wasm
from wasmgate.oci.reference import parse_reference
from wasmgate.oci.settings import RegistrySettings


def _annotation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'"{text}" is not key=value')
    return key, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate push`."""
    parser.add_argument("file", type=Path, metavar="FILE", help="the .wasm module to push")
    parser.add_argument("ref", metavar="REF", help="registry/repository:tag to push to")
    parser.add_argument(
        "--plain-http", action="store_true", help="talk HTTP, not HTTPS, to this registry"
    )
    parser.add_argument(
        "--annotation",
        "-a",
        type=_annotation,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="manifest annotation, e.g. org.opencontainers.image.source=https://... (repeatable)",
    )
    parser.add_argument("--ca-file", type=Path, help="PEM CA bundle for this registry")
    parser.add_argument(
        "--docker-config",
        type=Path,
        default=Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json",
        help="docker config with credentials (default: $DOCKER_CONFIG/config.json)",
    )


def run(args: argparse.Namespace) -> int:
    """Push and print the manifest digest on stdout; errors go to stderr with exit code 1."""
    try:
        ref = parse_reference(args.ref, "REF")
        settings = RegistrySettings(
            plain_http=frozenset({ref.registry}) if args.plain_http else frozenset(),
            ca_bundles={ref.registry: args.ca_file} if args.ca_file else {},
        )
        credentials = Credentials()
        if args.docker_config.is_file():
            credentials = parse_dockerconfigjson(
                args.docker_config.read_bytes(), str(args.docker_config)
            )
        digest = push_wasm(args.file, ref, settings, credentials, dict(args.annotation))
    except WasmgateError as e:
        print(f"wasmgate push: {e.reason}: {e.message}", file=sys.stderr)
        return 1
    print(digest)
    print(f"sign it: cosign sign --key cosign.key {ref.name}@{digest}", file=sys.stderr)
    return 0
