"""Run the `wasmgate` command as plugin authors and their CI do: a separate process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COMMAND_TIMEOUT = 120.0


def _python_module(
    module: str, args: tuple[str | Path, ...], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def wasmgate(
    *args: str | Path, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`python -m wasmgate ARGS`, output captured, never raising on a non-zero exit."""
    return _python_module("wasmgate", args, timeout)


def wasmgate_kit(
    *args: str | Path, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`python -m wasmgate_kit ARGS` (the kit's own command), like `wasmgate` above."""
    return _python_module("wasmgate_kit", args, timeout)


def push(wasm_file: Path, reference: str, *extra: str | Path) -> str:
    """`wasmgate push --plain-http` a module; its manifest digest."""
    pushed = wasmgate("push", "--plain-http", *extra, wasm_file, reference)
    assert pushed.returncode == 0, pushed.stderr
    return pushed.stdout.strip()
