"""Kubeconfig files for the kit's identities (admin, controller-manager, schedulers)."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(
    path: Path, *, server: str, ca: Path, cert: Path, key: Path, user: str
) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "wasmgate-kit",
                "cluster": {"server": server, "certificate-authority": str(ca)},
            }
        ],
        "users": [
            {"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}
        ],
        "contexts": [
            {"name": "wasmgate-kit", "context": {"cluster": "wasmgate-kit", "user": user}}
        ],
        "current-context": "wasmgate-kit",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
