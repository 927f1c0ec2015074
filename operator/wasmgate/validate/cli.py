"""`wasmgate validate FILE`: the validator for plugin authors and their CI.

Exit codes: 0 the module passes, 1 it fails (the reason and the fix are printed), 2 the file
could not be read or the validator itself failed. `--json` prints the full report instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wasmgate.validate.cache import ValidationCache, default_cache_dir
from wasmgate.validate.render import render_report
from wasmgate.validate.settings import DEFAULT_NODES, ValidationLimits
from wasmgate.validate.validator import validate

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the plugin's .wasm file")
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


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as e:
        hint = ""
        if not path.exists() and (":" in args.file or "@" in args.file):
            hint = " (OCI references are not supported here yet: pull the blob to a file first)"
        print(
            f"wasmgate validate: cannot read {args.file}: {e.strerror or e}{hint}", file=sys.stderr
        )
        return EXIT_ERROR
    if args.nodes < 1:
        print("wasmgate validate: --nodes must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    cache = None if args.no_cache else ValidationCache(default_cache_dir())
    report = validate(
        data, limits=ValidationLimits(nodes=args.nodes), guest_config=args.config, cache=cache
    )
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_report(report, source=args.file))
    if report.verdict == "pass":
        return EXIT_PASS
    return EXIT_FAIL if report.verdict == "fail" else EXIT_ERROR
