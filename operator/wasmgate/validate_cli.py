"""`wasmgate validate FILE|REF`: what plugin authors run in CI, on a build output or a pushed tag.

A reference is resolved and its wasm layer fetched (digest-verified) by the oci stage, then
validated exactly like a file, with the same report and exit codes. This module joins two
stages, which never import each other, so it sits beside them rather than in either.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasmgate.errors import WasmgateError
from wasmgate.oci.credentials import Credentials, parse_dockerconfigjson
from wasmgate.oci.fetch import fetch_layer
from wasmgate.oci.reference import Reference, normalize_registry, parse_reference
from wasmgate.oci.resolve import resolve
from wasmgate.oci.settings import RegistrySettings
from wasmgate.validate import cli as validate_cli

FETCHED_FILE = "plugin.wasm"


@dataclass(frozen=True)
class Module:
    """The bytes to validate and how to name them in the report."""

    data: bytes
    source: str
    digest: str | None = None
    """The digest the fetch verified, checked again by the validator; None for a file."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate validate`."""
    parser.add_argument(
        "target",
        metavar="FILE|REF",
        help="the plugin's .wasm file, or an OCI reference (registry/repository:tag or @sha256:)",
    )
    validate_cli.add_arguments(parser)
    parser.add_argument(
        "--plain-http",
        action="append",
        default=[],
        metavar="REGISTRY",
        help="talk HTTP, not HTTPS, to this registry host[:port] (repeatable)",
    )
    parser.add_argument(
        "--docker-config",
        type=Path,
        default=Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json",
        metavar="FILE",
        help="docker config with registry credentials (default: $DOCKER_CONFIG/config.json)",
    )


def _reference(target: str) -> Reference | None:
    """The target as an OCI reference, or None when it does not read as one."""
    try:
        return parse_reference(target, "REF")
    except WasmgateError:
        return None


def _credentials(docker_config: Path) -> Credentials:
    if not docker_config.is_file():
        return Credentials()
    return parse_dockerconfigjson(docker_config.read_bytes(), str(docker_config))


def _fetch(ref: Reference, args: argparse.Namespace) -> Module:
    settings = RegistrySettings(
        plain_http=frozenset(normalize_registry(host) for host in args.plain_http)
    )
    credentials = _credentials(args.docker_config)
    resolved = resolve(ref, settings, credentials)
    with tempfile.TemporaryDirectory(prefix="wasmgate-validate-") as tmp:
        fetched = fetch_layer(resolved, Path(tmp) / FETCHED_FILE, settings, credentials)
        data = fetched.path.read_bytes()
    return Module(data, str(resolved.reference), fetched.wasm_digest)


def run(args: argparse.Namespace) -> int:
    """Validate the file or the referenced artifact; 0 pass, 1 fail, 2 unreadable or error."""
    problem = validate_cli.usage_error(args)
    if problem is not None:
        return validate_cli.fail_input(problem)
    path = Path(args.target)
    ref = None if path.exists() else _reference(args.target)
    try:
        module = Module(path.read_bytes(), args.target) if ref is None else _fetch(ref, args)
    except OSError as e:
        return validate_cli.fail_input(
            f"cannot read {args.target}: {e.strerror or e} (nor is it an OCI reference: write "
            "registry/repository:tag or registry/repository@sha256:...)"
        )
    except WasmgateError as e:
        return validate_cli.fail_input(f"{args.target}: {e.reason}: {e.message}")
    return validate_cli.validate_and_report(module.data, module.source, args, module.digest)
