"""Build the wasm test plugins from their sources (WAT and C) into a directory.

Sources are committed, binaries never are: WAT compiles with `wasmtime.wat2wasm`, C with Debian
clang/lld for wasm32 without libc. Any test (validate, e2e) can build them:

    .venv/bin/python tests/assets/wasm/build_assets.py OUT_DIR

or import this file and call `build_all(out_dir)`, which returns {asset name: path}.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import wasmtime

ASSET_DIR = Path(__file__).resolve().parent
CLANG = os.environ.get("CLANG", "clang")
C_FLAGS = (
    "--target=wasm32",
    "-O2",
    "-nostdlib",
    "-fuse-ld=lld",
    "-Wl,--no-entry",
    "-Wall",
    "-Wextra",
    "-Werror",
)

# output name -> (C source, preprocessor definitions)
C_PLUGINS: dict[str, tuple[str, dict[str, str]]] = {
    "filter_node_name_suffix": ("filter_node_name_suffix.c", {}),
    "filter_node_name_suffix_inverted": (
        "filter_node_name_suffix.c",
        {"DEFAULT_RULE": '"not-pod-digit"'},
    ),
    "score_node_label": ("score_node_label.c", {}),
    "prefilter_node_names": ("prefilter_node_names.c", {}),
}
VERBATIM = ("not_wasm.txt",)


class AssetBuildError(RuntimeError):
    """A test plugin could not be built; the message says which and why."""


def build_wat(source: Path, out_dir: Path) -> Path:
    out = out_dir / f"{source.stem}.wasm"
    out.write_bytes(bytes(wasmtime.wat2wasm(source.read_text())))
    return out


def build_c(name: str, out_dir: Path) -> Path:
    if shutil.which(CLANG) is None:
        raise AssetBuildError(
            f"{CLANG!r} not found: install the Debian packages in tools/apt-packages.txt "
            "(clang, lld) to build the C test plugins"
        )
    source, defines = C_PLUGINS[name]
    out = out_dir / f"{name}.wasm"
    command = [
        CLANG,
        *C_FLAGS,
        *(f"-D{key}={value}" for key, value in defines.items()),
        "-o",
        str(out),
        str(ASSET_DIR / source),
    ]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise AssetBuildError(f"building {name} failed:\n{' '.join(command)}\n{built.stderr}")
    return out


def build_all(out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = {p.stem: build_wat(p, out_dir) for p in sorted(ASSET_DIR.glob("*.wat"))}
    assets.update({name: build_c(name, out_dir) for name in C_PLUGINS})
    for name in VERBATIM:
        target = out_dir / name
        shutil.copyfile(ASSET_DIR / name, target)
        assets[Path(name).stem] = target
    return assets


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    for asset, path in sorted(build_all(Path(sys.argv[1])).items()):
        print(f"{asset}\t{path}")
