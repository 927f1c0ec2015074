"""`wasmgate save REF... -o bundle.tar`: plugins, signatures and a trusted root for an air gap.

Run on the connected side; carry the tar across; `wasmgate load` pushes it into the internal
registry. The sigstore trusted root travels too (the embedded public-good root, or
`--trusted-root`), so keyless signatures can be checked inside. Exit codes: 0 saved, 2 a bad
flag or a registry failure (nothing is left under the output name then).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wasmgate.airgap.layout_tar import LayoutWriter
from wasmgate.airgap.save import save
from wasmgate.errors import InvalidSpec, WasmgateError
from wasmgate.registry_args import add_registry_arguments, credentials, registry_settings
from wasmgate.trust.trusted_root import load_trusted_root, production_trusted_root_bytes

EXIT_OK = 0
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate save`."""
    parser.add_argument(
        "refs", nargs="+", metavar="REF", help="registry/repository:tag or @sha256:... to save"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the tar to write"
    )
    root = parser.add_mutually_exclusive_group()
    root.add_argument(
        "--trusted-root",
        type=Path,
        metavar="FILE",
        help="sigstore trusted_root.json to include (default: the root embedded in wasmgate)",
    )
    root.add_argument(
        "--no-trusted-root", action="store_true", help="include no trusted root (keys only)"
    )
    add_registry_arguments(parser)


def _output(path: Path) -> Path:
    if path.is_dir() or str(path).endswith("/"):
        raise InvalidSpec(f"-o: {path} is a directory; name the tar file, e.g. -o plugins.tar")
    if not path.parent.is_dir():
        raise InvalidSpec(f"-o: {path.parent} does not exist; create it or write elsewhere")
    return path


def _trusted_root(args: argparse.Namespace) -> bytes | None:
    if args.no_trusted_root:
        return None
    if args.trusted_root is None:
        return production_trusted_root_bytes()
    path: Path = args.trusted_root
    if not path.is_file():
        raise InvalidSpec(
            f"--trusted-root: {path} is not a readable file; give the trusted_root.json that "
            "`cosign trusted-root create` writes"
        )
    data = path.read_bytes()
    load_trusted_root(data, f"--trusted-root {path}")  # refuse a file that is not a root
    return data


def run(args: argparse.Namespace) -> int:
    """Save every REF into one tar; print what was saved."""
    try:
        output = _output(args.output)
        root = _trusted_root(args)
        settings = registry_settings(args)
        with LayoutWriter(output) as writer:
            saved = save(args.refs, writer, settings, credentials(args), root)
    except WasmgateError as e:
        print(f"wasmgate save: {e.reason}: {e.message}", file=sys.stderr)
        return EXIT_ERROR
    for item in saved:
        print(
            f"{item.reference}: {item.legacy_signatures} legacy signature(s), "
            f"{item.referrers} referrer(s)"
        )
    print(f"wrote {output}" + (" with a trusted root" if root else ""), file=sys.stderr)
    return EXIT_OK
