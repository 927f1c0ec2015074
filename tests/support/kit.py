"""What end-to-end tests get from the kit: clients, registries, binaries and helpers.

One `KitHandle` per pytest session wraps a running `wasmgate_kit.kit.Kit`. Binaries are resolved
through the kit's build cache, so tests run exactly the pinned components.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from wasmgate_kit.build import binary_path
from wasmgate_kit.kit import Kit
from wasmgate_kit.registries import Registry

COMMAND_TIMEOUT = 120.0


@dataclass
class KitHandle:
    kit: Kit

    @property
    def kubeconfig(self) -> Path:
        return self.kit.kubeconfig

    @property
    def state_dir(self) -> Path:
        return self.kit.state_dir

    @property
    def registries(self) -> dict[str, Registry]:
        return self.kit.registries

    def api_client(self) -> client.ApiClient:
        return self.kit.api_client()

    def bin(self, name: str) -> Path:
        """Path of a kit binary: kubectl, cosign, oras, kube-scheduler-wasm-extension, ..."""
        return binary_path(name)

    def add_node(self, name: str, labels: dict[str, str] | None = None) -> None:
        self.kit.add_node(name, labels)

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def run(
        self,
        binary: str,
        *args: str | Path,
        check: bool = True,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a kit binary with KUBECONFIG set; on failure the error shows its output."""
        argv: Sequence[str] = [str(self.bin(binary)), *map(str, args)]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            input=input_text,
            env={**self.env(), **(env or {})},
            cwd=cwd,
            timeout=COMMAND_TIMEOUT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def kubectl(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, check=check)
