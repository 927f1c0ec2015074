"""`wasmgate-kit`: build, start, inspect and stop the local kit by hand (and for `make demo`)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wasmgate_kit import build, supervisor
from wasmgate_kit.errors import KitError
from wasmgate_kit.kit import read_state
from wasmgate_kit.nodes import DEFAULT_NODE_COUNT
from wasmgate_kit.paths import default_state_dir
from wasmgate_kit.real_node import sweep_abandoned


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build_parser = actions.add_parser("build", help="build (or find cached) every kit component")
    build_parser.add_argument("--only", action="append", help="component name (repeatable)")
    for name, help_text in (
        ("up", "start the kit in the background and wait until it is ready"),
        ("down", "stop the kit and every process it started"),
        ("status", "print whether the kit runs, and its components"),
        ("env", "print shell exports for the running kit (KUBECONFIG, registries)"),
        ("supervise", "run the kit in the foreground until Ctrl-C (used by `up`)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--state-dir", type=Path, default=default_state_dir())
        if name in ("up", "supervise"):
            action.add_argument("--nodes", type=int, default=DEFAULT_NODE_COUNT)
            action.add_argument(
                "--sigstore",
                action="store_true",
                help="also start a private sigstore (Fulcio, Rekor, CT log, OIDC issuer)",
            )
            action.add_argument(
                "--real-node",
                action="store_true",
                help="also start a real node: kubelet, containerd and runc (needs root)",
            )
            action.add_argument(
                "--install",
                action="store_true",
                help="run wasmgate as pods on the real node, installed with kubectl apply -k of "
                "deploy/ (implies --real-node), instead of as local processes",
            )


def _exports(state: dict[str, Any]) -> list[str]:
    lines = [f"export KUBECONFIG={shlex.quote(state['kubeconfig'])}"]
    # With wasmgate installed as pods, a registry is named at the node's address: the pods reach
    # it only there, and the host reaches it there too, so what a reader pushes the pods can pull.
    for_pods = (state.get("install") or {}).get("podRegistries", {})
    for name, registry in state["registries"].items():
        key = name.upper().replace("-", "_")
        host = for_pods.get(name, registry["host"])
        lines.append(f"export WASMGATE_REGISTRY_{key}={shlex.quote(host)}")
        if registry.get("username"):
            lines.append(f"export WASMGATE_REGISTRY_{key}_USER={shlex.quote(registry['username'])}")
            lines.append(
                f"export WASMGATE_REGISTRY_{key}_PASSWORD={shlex.quote(registry['password'])}"
            )
    sigstore = state.get("sigstore")
    if sigstore:
        for key, value in (
            ("FULCIO_URL", sigstore["fulcio_url"]),
            ("REKOR_URL", sigstore["rekor_url"]),
            ("TRUSTED_ROOT", sigstore["trusted_root"]),
            ("SIGNING_CONFIG", sigstore["signing_config"]),
            *(
                (f"ISSUER_{n.removeprefix('issuer-').upper()}", u)
                for n, u in sigstore["issuers"].items()
            ),
        ):
            lines.append(f"export WASMGATE_SIGSTORE_{key}={shlex.quote(value)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wasmgate-kit` command."""
    parser = argparse.ArgumentParser(prog="wasmgate-kit", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KitError as e:
        print(f"wasmgate-kit {args.action}: {e.message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.action == "build":
        build.build_all(args.only)
        return 0
    state_dir: Path = args.state_dir
    if args.action == "supervise":
        return supervisor.supervise(
            state_dir, args.nodes, args.sigstore, args.real_node, args.install
        )
    if args.action == "up":
        if supervisor.running_supervisor(state_dir):
            print(f"the kit is already up (state in {state_dir}); `wasmgate-kit env` prints it")
            return 0
        build.build_all()
        started = supervisor.start_detached(
            state_dir, args.nodes, args.sigstore, args.real_node, args.install
        )
        print(f"kit up in {started['startedInSeconds']}s; state in {state_dir}")
        if started.get("install"):
            print("wasmgate runs as pods on the real node; `kubectl get pods -A` shows them")
        print("\n".join(_exports(started)))
        return 0
    if args.action == "down":
        stopped = supervisor.stop_detached(state_dir)
        # A real node whose kit was killed leaves shims, pods and its namespace: remove them too.
        swept = sweep_abandoned() if os.geteuid() == 0 else []
        print("kit stopped" if stopped else "the kit was not running")
        for name in swept:
            print(f"removed the remains of real node network {name} (its kit had died)")
        return 0
    state = read_state(state_dir)
    running = supervisor.running_supervisor(state_dir) is not None
    if args.action == "status":
        if not running or state is None:
            print("the kit is not running")
            return 1
        shown = ("server", "processes", "registries", "install")
        print(json.dumps({k: state[k] for k in shown if k in state}, indent=2))
        return 0
    if not running or state is None:
        print("the kit is not running; start it with `wasmgate-kit up`", file=sys.stderr)
        return 1
    print("\n".join(_exports(state)))
    return 0
