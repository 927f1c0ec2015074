"""`wasmgate inspect REF`: everything about a pushed plugin on one screen, or as JSON with -o json.

Digest, layout, layers, sizes, the module's exports (marked against the scheduler ABI) and every
signature found with who made it. Signers are named with the material the user gives: `--key`
public keys, and for keyless signatures the embedded sigstore root or `--trusted-root`. Exit
codes: 0 inspected, 2 the reference or a flag is unusable, or the registry failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wasmgate.errors import InvalidSpec, WasmgateError
from wasmgate.inspection import Identify, inspect_reference
from wasmgate.output_format import add_output_argument
from wasmgate.registry_args import add_registry_arguments, credentials, registry_settings
from wasmgate.trust.keys import TrustedKey, load_public_key
from wasmgate.trust.trusted_root import TrustedRoot, load_trusted_root, production_trusted_root

EXIT_OK = 0
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate inspect`."""
    parser.add_argument("ref", metavar="REF", help="registry/repository:tag or @sha256:...")
    add_output_argument(parser)
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="PEM public key (cosign.pub) to name the signer with (repeatable)",
    )
    parser.add_argument(
        "--trusted-root",
        type=Path,
        metavar="FILE",
        help="sigstore trusted_root.json for keyless signatures (default: the embedded root)",
    )
    add_registry_arguments(parser)


def _keys(paths: list[Path]) -> list[TrustedKey]:
    keys = []
    for path in paths:
        if not path.is_file():
            raise InvalidSpec(f"--key: {path} is not a readable file; give a PEM public key")
        keys.append(load_public_key(path.read_bytes(), f"--key {path}"))
    return keys


def _root(path: Path | None) -> TrustedRoot:
    if path is None:
        return production_trusted_root()
    if not path.is_file():
        raise InvalidSpec(
            f"--trusted-root: {path} is not a readable file; give the trusted_root.json that "
            "`cosign trusted-root create` writes"
        )
    return load_trusted_root(path.read_bytes(), f"--trusted-root {path}")


def _signer_line(signer: dict[str, Any]) -> str:
    if signer["kind"] == "keyless":
        if signer["verified"]:
            return f"keyless {signer['identity']} (issuer {signer['issuer']})"
        return f"keyless, not verified: {signer['detail']}"
    fingerprint = signer.get("keyFingerprint")
    verdict = "verified" if signer["verified"] else "not verified"
    named = f" {fingerprint[:23]}…" if fingerprint else ""
    return f"key{named} {signer.get('algorithm', '')} ({verdict}: {signer['detail']})".replace(
        "  ", " "
    )


def _export_line(export: dict[str, Any]) -> str:
    text = f"    {export['name']:<16} {export['kind']:<7} {export['signature'] or ''}"
    if export["extensionPoint"]:
        text += "  extension point" + ("" if export["signatureMatchesAbi"] else ", WRONG SIGNATURE")
    return text.rstrip()


def render(report: dict[str, Any]) -> list[str]:
    """The report as the lines `wasmgate inspect` prints."""
    size = report["size"]
    module = report["module"]
    lines = [
        f"wasmgate inspect {report['reference']}",
        f"  digest      {report['digest']}",
        f"  media type  {report['mediaType']}",
        f"  layout      {report['layout']}",
        f"  size        {size['total']} bytes (manifest {size['manifest']}, config "
        f"{size['config']}, layers {size['layers']})",
        "  layers",
        *(
            f"    {layer['digest']} {layer['size']:>9} {layer['mediaType']}"
            + ("  (wasm)" if layer["wasm"] else "")
            for layer in report["layers"]
        ),
        f"  module      {module['digest']} {module['size']} bytes",
        "  exports",
        *(_export_line(export) for export in module["exports"]),
    ]
    if module.get("error"):
        lines.append(f"    {module['error']}")
    imports = sorted({i["module"] for i in module["imports"]})
    lines.append(f"  imports     {', '.join(imports) or 'none'}")
    signatures = report["signatures"]
    lines.append(f"  signatures  {len(signatures['found'])} found")
    for found in signatures["found"]:
        lines.append(f"    {found['format']} via {found['discovery']}: {found['location']}")
        claims = "this digest" if found["signsThisDigest"] else f"OTHER {found['signsDigest']}"
        repository = found["signsRepository"] or "(names no repository)"
        if not found["repositoryMatches"]:
            repository += " (ANOTHER repository)"
        lines.append(f"      signs   {claims}, repository {repository}")
        lines.append(f"      signer  {_signer_line(found['signer'])}")
    for problem in signatures["unreadable"]:
        lines.append(f"    unreadable {problem['location']}: {problem['reason']}")
    lines.append(f"    looked at {'; '.join(signatures['lookedAt'])}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Inspect and print; 0 when inspected, 2 on bad input or a registry failure."""
    try:
        identify = Identify(_keys(args.key), _root(args.trusted_root))
        report = inspect_reference(args.ref, registry_settings(args), credentials(args), identify)
    except WasmgateError as e:
        print(f"wasmgate inspect: {args.ref}: {e.reason}: {e.message}", file=sys.stderr)
        return EXIT_ERROR
    if args.output == "json":
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print("\n".join(render(report)))
    return EXIT_OK
