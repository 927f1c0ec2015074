"""The flags shared by inspect, verify, save and load: good values parse, bad ones name the flag."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from wasmgate.errors import InvalidSpec
from wasmgate.output_format import add_output_argument
from wasmgate.registry_args import add_registry_arguments, registry_settings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_registry_arguments(parser)
    add_output_argument(parser)
    return parser.parse_args(list(argv))


def test_registry_flags_become_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")

    settings = registry_settings(
        _parse("--plain-http", "127.0.0.1:5000", "--ca-file", f"Registry.Example={ca}")
    )

    assert settings.plain_http == frozenset({"127.0.0.1:5000"})
    assert settings.ca_bundles == {"registry.example": ca}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plain-http", "host/repo"], '--plain-http: "host/repo" is not a registry host'),
        (["--plain-http", ""], '--plain-http: "" is not a registry host'),
        (["--ca-file", "host"], '--ca-file: "host" is not REGISTRY=FILE; write e.g.'),
        (["--ca-file", "host=/nonexistent.pem"], "--ca-file: /nonexistent.pem is not a readable"),
    ],
    ids=["plain-http-path", "plain-http-empty", "ca-file-no-equals", "ca-file-missing"],
)
def test_bad_registry_flags_name_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(InvalidSpec) as raised:
        registry_settings(_parse(*argv))

    assert raised.value.message.startswith(message)


def test_output_format_refuses_unknown_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert _parse("-o", "json").output == "json"
    assert _parse().output == "text"
    with pytest.raises(SystemExit):
        _parse("-o", "yaml")

    assert '"yaml" is not an output format; write -o text' in capsys.readouterr().err
