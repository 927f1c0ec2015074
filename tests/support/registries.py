"""Registries as the oci, trust and operator tests see them: reachable, tamperable, stoppable.

The registries themselves are the kit's (`wasmgate_kit.registries.start_registries`): the oci and
trust tests start that set alone, the e2e tests take the one inside the running kit. This adds
what tests need beyond reaching them: where a blob lies on disk (to tamper with it), a docker
config with the login, and the process (to take a registry down and bring it back).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from wasmgate_kit.kit import Kit
from wasmgate_kit.net import http_status
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.registries import Registry
from wasmgate_kit.wait import wait_for

START_TIMEOUT = 30.0


@dataclass
class LocalRegistry:
    """One running registry on loopback and how to reach it."""

    name: str
    host: str
    storage_dir: Path
    supports_referrers: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    scheme: str = "http"
    ca_file: Path | None = None
    process: ManagedProcess | None = field(default=None, repr=False)

    @classmethod
    def from_kit(cls, registry: Registry, process: ManagedProcess | None = None) -> LocalRegistry:
        return cls(
            registry.name,
            registry.host,
            Path(registry.storage_dir),
            registry.supports_referrers,
            registry.username,
            registry.password,
            process=process,
        )

    def blob_path(self, digest: str) -> Path:
        """Where this registry keeps a blob on disk (for tampering tests)."""
        algorithm, hex_digest = digest.split(":", 1)
        if self.supports_referrers:
            return self.storage_dir / algorithm / hex_digest
        return (
            self.storage_dir / "docker/registry/v2/blobs" / algorithm / hex_digest[:2] / hex_digest
        ) / "data"

    def dockerconfig(self, password: str | None = None) -> bytes:
        """A docker config with this registry's (or the given) credentials."""
        login = f"{self.username}:{password if password is not None else self.password}"
        auth = base64.b64encode(login.encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": auth}}}).encode()

    def start(self) -> None:
        """Start (or restart, on the same port and storage) and wait until it serves /v2/."""
        assert self.process is not None, f"registry {self.name}: no process of ours to start"
        self.process.start()
        url = f"{self.scheme}://{self.host}/v2/"
        wait_for(
            lambda: http_status(url, ca=self.ca_file) in (200, 401),
            what=f"registry {self.name} {url}",
            timeout=START_TIMEOUT,
            alive=self.process.check_alive,
        )

    def stop(self) -> None:
        """Take the registry down; `start` brings it back with its content."""
        assert self.process is not None, f"registry {self.name}: no process of ours to stop"
        self.process.stop()


def kit_registries(
    registries: dict[str, Registry], processes: list[ManagedProcess]
) -> dict[str, LocalRegistry]:
    """The kit's registries by name, each with its process (named `registry-<name>`)."""
    by_name = {p.name: p for p in processes}
    return {
        name: LocalRegistry.from_kit(registry, by_name.get(f"registry-{name}"))
        for name, registry in registries.items()
    }


def of_kit(kit: Kit) -> dict[str, LocalRegistry]:
    """The running kit's registries, stoppable through the kit's own processes."""
    return kit_registries(kit.registries, kit.extra_processes)
