"""The validator's half of `wasmgate validate`: its options, the printed report, the exit code.

Getting the module's bytes (a file, or an OCI reference fetched by the oci stage) is the
command's job (`wasmgate.validate_cli`); stages never import each other, so that part cannot
live here. Exit codes: 0 the module passes, 1 it fails (the reason and the fix are printed),
2 the input could not be read or the validator itself failed. `--json` prints the full report.
"""

from __future__ import annotations

import argparse
import sys

from wasmgate.validate.cache import ValidationCache, default_cache_dir
from wasmgate.validate.render import render_report
from wasmgate.validate.settings import DEFAULT_NODES, ValidationLimits
from wasmgate.validate.validator import validate

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that shape the validation itself (not where the bytes come from)."""
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--nodes",
        type=int,
        default=DEFAULT_NODES,
        metavar="N",
        help=f"nodes in the synthetic cluster of the dry run (default {DEFAULT_NODES})",
    )
    parser.add_argument(
        "--config",
        default="",
        metavar="STRING",
        help="guestConfig handed to the plugin (k8s.io/scheduler.get_config)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"do not read or write the result cache ({default_cache_dir()})",
    )


def usage_error(args: argparse.Namespace) -> str | None:
    """A message when the validator options are unusable, checked before any bytes are read."""
    if args.nodes < 1:
        return "--nodes must be at least 1"
    return None


def validate_and_report(
    data: bytes, source: str, args: argparse.Namespace, expected_digest: str | None = None
) -> int:
    """Validate `data`, print the report for `source`, return the exit code."""
    cache = None if args.no_cache else ValidationCache(default_cache_dir())
    report = validate(
        data,
        limits=ValidationLimits(nodes=args.nodes),
        guest_config=args.config,
        cache=cache,
        expected_digest=expected_digest,
    )
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_report(report, source=source))
    if report.verdict == "pass":
        return EXIT_PASS
    return EXIT_FAIL if report.verdict == "fail" else EXIT_ERROR


def fail_input(message: str) -> int:
    """Report unreadable input on stderr; the exit code for it."""
    print(f"wasmgate validate: {message}", file=sys.stderr)
    return EXIT_ERROR
