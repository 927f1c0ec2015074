"""The product's wheel is the product: `pip wheel .` holds no module of the test kit."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_the_product_wheel_holds_the_operator_and_admission_and_no_kit(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         f"--wheel-dir={tmp_path}", str(REPO_ROOT)],
        check=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("wasmgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("wasmgate-")}
    assert packages == {"wasmgate", "wasmgate_admission"}
    assert "wasmgate/runner/__init__.py" in names
    assert not [name for name in names if "kit" in name.split("/")[1:2]]
    metadata = next(name for name in names if name.endswith("/METADATA"))
    requires = [
        line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]  # fmt: skip
    assert not [line for line in requires if "bcrypt" in line], "bcrypt is the kit's only"
