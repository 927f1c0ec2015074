"""`wasmgate validate FILE|REF`: what plugin authors run in CI, on a build output or a pushed tag.

A reference is resolved and its wasm layer fetched (digest-verified) by the oci stage, then
validated exactly like a file, with the same report and exit codes. This module joins two
stages, which never import each other, so it sits beside them rather than in either.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasmgate.errors import WasmgateError
from wasmgate.oci.fetch import fetch_layer
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate.oci.resolve import resolve
from wasmgate.registry_args import add_registry_arguments, registry_settings
from wasmgate.registry_args import credentials as docker_credentials
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
    add_registry_arguments(parser)


def _reference(target: str) -> Reference | None:
    """The target as an OCI reference, or None when it does not read as one."""
    try:
        return parse_reference(target, "REF")
    except WasmgateError:
        return None


def _fetch(ref: Reference, args: argparse.Namespace) -> Module:
    settings = registry_settings(args)
    credentials = docker_credentials(args)
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
