"""The `-o text|json` flag of the commands that report on an artifact (inspect, verify).

Text is for people; JSON is for CI and scripts, and carries every field the text shows. One
definition, so the flag and its error read the same everywhere.
"""

from __future__ import annotations

import argparse

FORMATS = ("text", "json")


def _format(value: str) -> str:
    if value not in FORMATS:
        raise argparse.ArgumentTypeError(
            f'"{value}" is not an output format; write -o text (the default) or -o json'
        )
    return value


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    """`-o/--output text|json`, default text."""
    parser.add_argument(
        "-o",
        "--output",
        type=_format,
        default="text",
        metavar="FORMAT",
        help="text (default) or json",
    )
