"""`wasmgate validate`: exit codes, the readable report, --json, --nodes, --config, the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.wasm_assets import ASSET_VERDICTS
from wasmgate.cli import main
from wasmgate_kit.net import free_port


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache_home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    return cache_home


@pytest.mark.parametrize(
    ("asset", "verdict", "reason", "fragments"), ASSET_VERDICTS, ids=[c[0] for c in ASSET_VERDICTS]
)
def test_exit_code_and_report(
    wasm_assets: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    asset: str,
    verdict: str,
    reason: str | None,
    fragments: list[str],
) -> None:
    path = wasm_assets[asset]

    code = main(["validate", str(path)])

    out = capsys.readouterr().out
    assert out.startswith(f"wasmgate validate {path}\n")
    if verdict == "pass":
        assert code == 0
        assert "  verdict   PASS\n" in out
        assert "cost per extension point:" in out
    else:
        assert code == 1
        assert f"  verdict   FAIL ({reason})\n" in out
    for fragment in fragments:
        assert fragment in out


def test_json_report_round_trips(
    wasm_assets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--json", str(wasm_assets["score_node_label"])]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "pass"
    assert report["extension_points"] == ["score"]
    assert [c["score"] for c in report["calls"] if c["point"] == "score"] == [10, 47, 84, 20]


def test_nodes_and_config_shape_the_dry_run(
    wasm_assets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["validate", "--json", "--nodes", "12", "--config", "suffix=1"]

    assert main([*args, str(wasm_assets["filter_node_name_suffix"])]) == 0

    report = json.loads(capsys.readouterr().out)
    admitted = [
        c["node"] for c in report["calls"] if c["point"] == "filter" and c["status_code"] == 0
    ]
    assert len(report["nodes"]) == 12
    assert admitted == ["node-1", "node-11"]
    assert report["guest_config"] == "suffix=1"


def test_second_run_is_served_from_the_cache(
    wasm_assets: dict[str, Path], capsys: pytest.CaptureFixture[str], private_cache: Path
) -> None:
    path = str(wasm_assets["filter_trap_unreachable"])
    assert main(["validate", path]) == 1
    first = capsys.readouterr().out

    assert main(["validate", path]) == 1

    second = capsys.readouterr().out
    assert "[cached]" not in first
    assert "verdict   FAIL (DryRunTrapped)  [cached]" in second
    assert len(list((private_cache / "wasmgate" / "validate").glob("*.json"))) == 1


def test_no_cache_writes_nothing(
    wasm_assets: dict[str, Path], capsys: pytest.CaptureFixture[str], private_cache: Path
) -> None:
    assert main(["validate", "--no-cache", str(wasm_assets["filter_node_name_suffix"])]) == 0

    assert "[cached]" not in capsys.readouterr().out
    assert not private_cache.exists()


def test_missing_file_that_is_no_reference_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/plugin.wasm"]) == 2

    err = capsys.readouterr().err
    assert "cannot read /nonexistent/plugin.wasm: No such file or directory" in err
    assert "nor is it an OCI reference" in err


def test_unreachable_registry_exits_2_with_the_registry_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = f"127.0.0.1:{free_port()}"

    code = main(["validate", "--plain-http", host, f"{host}/acme/plugin:v1"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(
        f"wasmgate validate: {host}/acme/plugin:v1: RegistryUnavailable:"
    )
    assert captured.out == ""


def test_zero_nodes_is_a_usage_error(
    wasm_assets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--nodes", "0", str(wasm_assets["filter_node_name_suffix"])]) == 2

    assert "--nodes must be at least 1" in capsys.readouterr().err


def test_console_script_exit_codes(wasm_assets: dict[str, Path]) -> None:
    """The installed entry point, as plugin authors' CI runs it."""
    command = [sys.executable, "-m", "wasmgate", "validate", "--no-cache"]

    passing = subprocess.run(
        [*command, str(wasm_assets["filter_node_name_suffix"])],
        capture_output=True,
        text=True,
        check=False,
    )
    failing = subprocess.run(
        [*command, str(wasm_assets["exports_no_memory"])],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (passing.returncode, failing.returncode) == (0, 1)
    assert "verdict   PASS" in passing.stdout
    assert 'no export named "memory"' in failing.stdout
