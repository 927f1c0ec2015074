"""verify-store passes only when every file:// guest exists and hashes to its name."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from wasmgate.cli import main

STORE = "/var/lib/wasmgate/store/sha256"


def _config(tmp_path: Path, urls: list[str]) -> Path:
    document = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [{
            "schedulerName": "wasmgate-scheduler",
            "plugins": {"multiPoint": {"enabled": [{"name": f"p{i}"} for i in range(len(urls))]}},
            "pluginConfig": [{"name": f"p{i}", "args": {"guestURL": url}}
                             for i, url in enumerate(urls)],
        }],
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _blob(root: Path, data: bytes) -> str:
    hex_digest = hashlib.sha256(data).hexdigest()
    path = root / STORE.lstrip("/") / hex_digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hex_digest


def _run(config: Path, root: Path) -> int:
    return main(["verify-store", "--config", str(config), "--root", str(root)])


def test_intact_store_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = _blob(tmp_path, b"one"), _blob(tmp_path, b"two")
    urls = [f"file://{STORE}/{one}", "https://example.com/x.wasm", f"file://{STORE}/{two}"]
    assert _run(_config(tmp_path, urls), tmp_path) == 0
    assert "verified 2 store files" in capsys.readouterr().out


CASES = [
    ("tampered", lambda root, hex_: (root / STORE.lstrip("/") / hex_).write_bytes(b"evil"),
     "StoreFileTampered", "hashes to sha256:"),
    ("missing", lambda root, hex_: (root / STORE.lstrip("/") / hex_).unlink(),
     "StoreFileMissing", "is missing; the node agent has not staged it"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "reason", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_first_damaged_file_is_named_and_the_exit_code_is_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path, str], object],
    reason: str,
    message: str,
) -> None:
    good, bad = _blob(tmp_path, b"good"), _blob(tmp_path, b"bad")
    damage(tmp_path, bad)
    config = _config(tmp_path, [f"file://{STORE}/{good}", f"file://{STORE}/{bad}"])
    assert _run(config, tmp_path) == 1
    error = capsys.readouterr().err
    assert f"wasmgate verify-store: {reason}: profiles[0].pluginConfig[1] (p1)" in error
    assert bad in error and message in error


def test_a_file_that_is_not_content_addressed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plugin.wasm").write_bytes(b"x")
    assert _run(_config(tmp_path, ["file:///plugin.wasm"]), tmp_path) == 1
    assert "StoreFileTampered" in capsys.readouterr().err


def test_a_file_that_is_not_a_scheduler_configuration_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("kind: ConfigMap\n")
    assert _run(path, tmp_path) == 1
    assert "ConfigInvalid" in capsys.readouterr().err
