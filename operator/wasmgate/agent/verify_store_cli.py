"""`wasmgate verify-store --config FILE`: the scheduler pod's init container.

Exit status 0 when every file:// guest hashes to its name, 1 naming the first that does not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wasmgate.agent.verify_store import verify_config
from wasmgate.errors import WasmgateError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate verify-store`."""
    parser.add_argument(
        "--config", type=Path, required=True, help="KubeSchedulerConfiguration file"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="directory the file:// paths are relative to (default /; the kit maps the node "
        "store this way)",
    )


def run(args: argparse.Namespace) -> int:
    """Verify and print one line per file."""
    try:
        verified = verify_config(args.config, args.root)
    except WasmgateError as e:
        print(f"wasmgate verify-store: {e.reason}: {e.message}", file=sys.stderr)
        return 1
    for path in verified:
        print(f"ok {path}")
    print(f"verified {len(verified)} store files named by {args.config}")
    return 0
