"""Builds the test guests: every *.wat here into the *.wasm next to it.

Go cannot compile WAT, so the .wasm files are committed; rerun after editing a .wat:
    /work/main/.venv/bin/python wat2wasm.py
"""

from pathlib import Path

import wasmtime

HERE = Path(__file__).parent

for wat in sorted(HERE.glob("*.wat")):
    wat.with_suffix(".wasm").write_bytes(wasmtime.wat2wasm(wat.read_text()))
    print(f"{wat.name} -> {wat.with_suffix('.wasm').name}")
