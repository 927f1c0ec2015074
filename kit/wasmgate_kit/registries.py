"""The kit's OCI registries: one with the OCI 1.1 referrers API and one without.

- `oci`: go-containerregistry's registry with referrers enabled (tools/go/registry), the only
  referrers-capable registry the module proxy serves here.
- `distribution`: Debian's docker-registry 2.8, which has no referrers API, so clients must use
  the `sha256-<hex>` fallback tag.
Each runs twice, anonymously and behind htpasswd basic auth, on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from wasmgate_kit.net import LOOPBACK, free_port, http_status
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

START_TIMEOUT = 30.0
KIT_REGISTRY_USER = "wasmgate"


@dataclass(frozen=True)
class Registry:
    """How to reach one kit registry (plain HTTP on loopback)."""

    name: str
    host: str
    """host:port, without scheme."""
    storage_dir: str
    supports_referrers: bool
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _htpasswd(path: Path, user: str, password: str) -> Path:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"{user}:{hashed}\n")
    path.chmod(0o600)
    return path


def _ociregistry_argv(binary: Path, port: int, storage: Path, htpasswd: Path | None) -> list[str]:
    argv = [str(binary), f"--addr={LOOPBACK}:{port}", f"--disk={storage}"]
    if htpasswd:
        argv.append(f"--htpasswd={htpasswd}")
    return argv


def _distribution_argv(binary: Path, port: int, storage: Path, htpasswd: Path | None) -> list[str]:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"{LOOPBACK}:{port}", "secret": secrets.token_hex(16)},
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "wasmgate-kit", "path": str(htpasswd)}}
    config_path = storage.parent / f"{storage.name}.yml"
    config_path.write_text(yaml.safe_dump(config))
    return [str(binary), "serve", str(config_path)]


def start_registries(
    state_dir: Path, binary: Callable[[str], Path]
) -> tuple[dict[str, Registry], list[ManagedProcess]]:
    # Hex: a password that starts with "-" would be read as a flag by CLIs.
    password = secrets.token_hex(16)
    registries: dict[str, Registry] = {}
    processes: list[ManagedProcess] = []
    flavours = (
        ("oci", "ociregistry", _ociregistry_argv, True),
        ("distribution", "docker-registry", _distribution_argv, False),
    )
    for flavour, binary_name, argv_for, referrers in flavours:
        for with_auth in (False, True):
            name = f"{flavour}-auth" if with_auth else flavour
            root = state_dir / "registries"
            storage = root / name
            storage.mkdir(parents=True, exist_ok=True)
            htpasswd = (
                _htpasswd(root / f"{name}.htpasswd", KIT_REGISTRY_USER, password)
                if (with_auth)
                else None
            )
            port = free_port()
            process = ManagedProcess(
                f"registry-{name}",
                argv_for(binary(binary_name), port, storage, htpasswd),
                state_dir / "logs" / f"registry-{name}.log",
            )
            process.start()
            processes.append(process)
            registries[name] = Registry(
                name=name,
                host=f"{LOOPBACK}:{port}",
                storage_dir=str(storage),
                supports_referrers=referrers,
                username=KIT_REGISTRY_USER if with_auth else None,
                password=password if with_auth else None,
            )
    for registry, process in zip(registries.values(), processes, strict=True):
        _wait_until_serving(registry, process)
    return registries, processes


def _wait_until_serving(registry: Registry, process: ManagedProcess) -> None:
    wait_for(
        lambda: http_status(f"{registry.url}/v2/") in (200, 401),
        what=f"registry {registry.name} /v2/",
        timeout=START_TIMEOUT,
        alive=process.check_alive,
    )
