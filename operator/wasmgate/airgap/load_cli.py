"""`wasmgate load bundle.tar --to REGISTRY`: push a `wasmgate save` bundle into a registry inside.

Every repository keeps its path under the target (`--to host/prefix` puts it under a prefix), and
every digest stays the same, so WasmPlugins can pin them. `--trusted-root-out` writes the bundled
sigstore root for a `trustedRootRef` Secret. Exit codes: 0 loaded, 2 a bad flag, an unreadable
or altered bundle, or a registry failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from wasmgate.airgap.layout_tar import Layout, copy_blob, read_layout
from wasmgate.airgap.load import load, parse_target
from wasmgate.airgap.save import ROLE, ROLE_TRUSTED_ROOT
from wasmgate.errors import ArtifactInvalid, InvalidSpec, WasmgateError
from wasmgate.oci.manifest import parse_manifest
from wasmgate.registry_args import add_registry_arguments, credentials, registry_settings

EXIT_OK = 0
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate load`."""
    parser.add_argument("bundle", type=Path, metavar="BUNDLE", help="a `wasmgate save` tar")
    parser.add_argument(
        "--to",
        required=True,
        metavar="REGISTRY",
        help="host[:port] (optionally /path/prefix) to push into",
    )
    parser.add_argument(
        "--trusted-root-out",
        type=Path,
        metavar="FILE",
        help="write the bundled sigstore trusted_root.json here",
    )
    add_registry_arguments(parser)


def _trusted_root_blob(layout: Layout, bundle: Path) -> str:
    """The digest of the bundled trusted root; checked before anything is pushed."""
    entry = next(
        (e for e in layout.manifests if e.annotations.get(ROLE) == ROLE_TRUSTED_ROOT), None
    )
    if entry is None:
        raise ArtifactInvalid(
            f"--trusted-root-out: {bundle} holds no trusted root (it was saved with "
            "--no-trusted-root); drop the flag"
        )
    manifest = parse_manifest(layout.blob_bytes(entry.digest), entry.digest, entry.media_type, 4)
    if len(manifest.layers) != 1:
        raise ArtifactInvalid(f"{bundle}: the trusted root manifest must have one layer")
    return manifest.layers[0].digest


def run(args: argparse.Namespace) -> int:
    """Load the bundle; print each artifact's new reference."""
    try:
        target = parse_target(args.to)
        settings = registry_settings(args)
        if not args.bundle.is_file():
            raise InvalidSpec(f"BUNDLE: {args.bundle} is not a file; give a `wasmgate save` tar")
        out: Path | None = args.trusted_root_out
        if out is not None and (out.is_dir() or not out.parent.is_dir()):
            raise InvalidSpec(
                f"--trusted-root-out: {out} is a directory or its directory does not exist; "
                "name a file, e.g. --trusted-root-out trusted_root.json"
            )
        with tempfile.TemporaryDirectory(prefix="wasmgate-load-") as tmp:
            layout = read_layout(args.bundle, Path(tmp))
            root = None if out is None else _trusted_root_blob(layout, args.bundle)
            loaded = load(layout, target, settings, credentials(args))
            if out is not None and root is not None:
                copy_blob(layout, root, out)
    except WasmgateError as e:
        print(f"wasmgate load: {e.reason}: {e.message}", file=sys.stderr)
        return EXIT_ERROR
    for item in loaded:
        fallback = ", fallback tag written" if item.fallback_tag_written else ""
        print(
            f"{item.reference}: {item.legacy_signatures} legacy signature(s), "
            f"{len(item.referrers)} referrer(s){fallback}"
        )
    return EXIT_OK
