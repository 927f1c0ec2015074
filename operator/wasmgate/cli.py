"""The `wasmgate` command: one entry point, each subcommand owned by the package it drives.

A subcommand module exposes `add_arguments(parser)` and `run(args) -> int`. Modules are imported
only when their subcommand runs, so `wasmgate push` does not pay for wasmtime and
`wasmgate validate` does not pay for the Kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("wasmgate.validate_cli", "check a plugin against the scheduler ABI, dry-run it"),
    "crds": ("wasmgate.api.cli", "write or check the CRDs and API reference from the models"),
    "push": ("wasmgate.oci.push_cli", "push a .wasm module as a CNCF artifact; print its digest"),
    "inspect": ("wasmgate.inspect_cli", "show a pushed plugin: digest, layers, exports, signers"),
    "verify": ("wasmgate.verify_cli", "the verdict the cluster's WasmTrustPolicies would give"),
    "save": ("wasmgate.airgap.save_cli", "write plugins with signatures to an OCI layout tar"),
    "load": ("wasmgate.airgap.load_cli", "push a `wasmgate save` tar into another registry"),
    "run": ("wasmgate.runner.cli", "run the operator (kopf) against the cluster"),
    "agent": ("wasmgate.agent.cli", "node agent: stage verified plugins into this node's store"),
    "verify-store": ("wasmgate.agent.verify_store_cli", "re-hash the store files a config loads"),
}


class SubcommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> SubcommandModule:
    return cast(SubcommandModule, importlib.import_module(SUBCOMMANDS[name][0]))


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wasmgate", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        # Only the chosen subcommand's module is imported to add its arguments.
        if name == chosen:
            _load(name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    return _load(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
