"""`wasmgate verify REF`: would the cluster accept this artifact's signatures? Ask before applying.

The cluster's WasmTrustPolicies and the Secrets they name are read through the kubeconfig (the
user's own rights, so an admin sees what the operator sees); the registry is reached from this
machine with the registry flags. The verdict, reasons and messages are the operator's own
(`cluster_verdict`). Exit codes: 0 verified (or no signature required), 1 refused, 2 undecided:
a bad flag, the cluster or the registry did not answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmtrustpolicy import WASMTRUSTPOLICY
from wasmgate.cluster_verdict import (
    REFUSED,
    VERIFIED,
    ClusterVerdict,
    RawPolicies,
    as_enforced,
    cluster_verdict,
    plugin_body,
    warn_policies,
)
from wasmgate.errors import InvalidSpec, KubernetesApiUnavailable, WasmgateError
from wasmgate.oci.reference import parse_reference
from wasmgate.output_format import add_output_argument
from wasmgate.registry_args import add_registry_arguments, registry_settings
from wasmgate.runner.cluster import read_secret_data
from wasmgate.runner.login import api_client

EXIT_CODES = {VERIFIED: 0, REFUSED: 1}
EXIT_ERROR = 2
REQUEST_TIMEOUT_SECONDS = 30
DEFAULT_KUBECONFIG = Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `wasmgate verify`."""
    parser.add_argument("ref", metavar="REF", help="registry/repository:tag or @sha256:...")
    add_output_argument(parser)
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=DEFAULT_KUBECONFIG,
        metavar="FILE",
        help="cluster whose WasmTrustPolicies decide (default: $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--plugin",
        type=Path,
        metavar="FILE",
        help="the WasmPlugin you will apply (YAML): its spec.verify and pull secret count too",
    )
    # Pulls use what the operator would: the pull secret of --plugin, never local credentials.
    add_registry_arguments(parser, docker_config=False)


def _plugin_spec(path: Path | None) -> Mapping[str, Any] | None:
    if path is None:
        return None
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise InvalidSpec(f"--plugin: cannot read {path} ({e}); give a WasmPlugin YAML") from e
    if not isinstance(document, dict) or document.get("kind") != "WasmPlugin":
        raise InvalidSpec(
            f"--plugin: {path} is not a WasmPlugin manifest (kind: WasmPlugin); give the file "
            "you would kubectl apply"
        )
    spec = document.get("spec")
    return spec if isinstance(spec, dict) else {}


def _api(kubeconfig: Path) -> client.ApiClient:
    if not kubeconfig.is_file():
        raise InvalidSpec(
            f"--kubeconfig: {kubeconfig} does not exist; give the cluster's kubeconfig "
            "(or set KUBECONFIG)"
        )
    try:
        return api_client(kubeconfig)
    except Exception as e:  # the kubernetes client raises bare exceptions for bad configs
        raise InvalidSpec(f"--kubeconfig: {kubeconfig} is not a usable kubeconfig ({e})") from e


def _policies(api: client.ApiClient) -> RawPolicies:
    try:
        listed = client.CustomObjectsApi(api).list_cluster_custom_object(
            GROUP, VERSION, WASMTRUSTPOLICY.plural, _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
    except ApiException as e:
        if e.status == 403:
            raise InvalidSpec(
                "--kubeconfig: this identity may not list WasmTrustPolicies; use a kubeconfig "
                "that may (get and list wasmtrustpolicies, get the Secrets they name)"
            ) from None
        if e.status == 404:
            raise InvalidSpec(
                "the cluster has no WasmTrustPolicy API; install wasmgate's CRDs first"
            ) from None
        raise KubernetesApiUnavailable(
            f"listing WasmTrustPolicies: the API answered {e.status}"
        ) from None
    except (OSError, urllib3.exceptions.HTTPError) as e:
        raise KubernetesApiUnavailable(
            f"listing WasmTrustPolicies: the API did not answer ({e}); check --kubeconfig"
        ) from e
    items: list[dict[str, Any]] = listed["items"] if isinstance(listed, dict) else []
    return [(item["metadata"]["name"], item.get("spec") or {}) for item in items]


def _lines(reference: str, verdict: ClusterVerdict, policies: RawPolicies) -> list[str]:
    document = verdict.to_json()
    shown = ", ".join(f"{name} ({spec.get('mode', 'Enforce')})" for name, spec in policies)
    lines = [
        f"wasmgate verify {reference}",
        f"  policies   {shown or 'none'}",
        f"  digest     {document['digest'] or '-'}",
    ]
    for condition in document["conditions"]:
        lines.append(
            f"  {condition['type']:<10} {condition['status']:<5} {condition['reason']}: "
            f"{condition['message']}"
        )
    for rejected in (document["signature"] or {}).get("rejected", []):
        lines.append(f"  rejected   {rejected['candidate']}: {rejected['reason']}")
    lines.append(f"  verdict    {verdict.verdict.upper()} ({verdict.reason})")
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the verdict; the exit code says it too."""
    try:
        parse_reference(args.ref, "REF")
        spec = _plugin_spec(args.plugin)
        settings = registry_settings(args)
        api = _api(args.kubeconfig)
        policies = _policies(api)
    except WasmgateError as e:
        print(f"wasmgate verify: {e.reason}: {e.message}", file=sys.stderr)
        return EXIT_ERROR

    def read_secret(namespace: str, name: str) -> Mapping[str, str]:
        return read_secret_data(api, namespace, name)

    body = plugin_body(args.ref, spec)
    verdict = cluster_verdict(body, policies, read_secret, settings)
    warned = warn_policies(policies)
    warning = None
    if warned and verdict.verdict == VERIFIED:
        enforced = cluster_verdict(body, as_enforced(policies, warned), read_secret, settings)
        if enforced.verdict != VERIFIED:
            warning = {"policies": warned, "reason": enforced.reason, "message": enforced.message}
    if args.output == "json":
        print(json.dumps({"reference": args.ref, **verdict.to_json(), "warning": warning}))
    else:
        lines = _lines(args.ref, verdict, policies)
        if warning is not None:
            lines.insert(
                -1,
                f"  warning    Warn-mode {', '.join(warned)}: {warning['reason']}: "
                f"{warning['message']}",
            )
        print("\n".join(lines))
    return EXIT_CODES.get(verdict.verdict, EXIT_ERROR)
