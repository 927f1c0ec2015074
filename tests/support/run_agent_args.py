"""Parsed arguments of `wasmgate run` and `wasmgate agent` as their flag tests build them."""

from __future__ import annotations

import argparse

from wasmgate.agent import cli as agent_cli
from wasmgate.runner import cli as run_cli


def run_args(*argv: str) -> argparse.Namespace:
    """`wasmgate run` arguments (with a kubeconfig that is never read)."""
    parser = argparse.ArgumentParser()
    run_cli.add_arguments(parser)
    return parser.parse_args(["--kubeconfig=/dev/null", *argv])


def agent_args(*argv: str) -> argparse.Namespace:
    """`wasmgate agent` arguments for node n1 (with a kubeconfig that is never read)."""
    parser = argparse.ArgumentParser()
    agent_cli.add_arguments(parser)
    return parser.parse_args(["--node=n1", "--kubeconfig=/dev/null", *argv])
