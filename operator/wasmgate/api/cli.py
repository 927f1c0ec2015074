"""`wasmgate crds`: write the CRDs and the API reference generated from the models, or check them.

`--check` writes nothing and exits 1 naming every file that is missing, differs, or is left over
from a kind that no longer exists, so CI catches a model change committed without its CRDs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wasmgate.api.base import GROUP
from wasmgate.api.generate import CRD_SUFFIX, crd_files, reference_markdown

DEFAULT_OUTPUT = Path("crds")
DEFAULT_DOCS = Path("docs/reference/api.md")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"directory for the CRD files (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=DEFAULT_DOCS,
        help=f"file for the API reference (default: {DEFAULT_DOCS})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing the files that are not what would be generated",
    )


def expected_files(output: Path, docs: Path) -> dict[Path, str]:
    """Every generated file under its path."""
    files = {output / name: text for name, text in crd_files().items()}
    files[docs] = reference_markdown()
    return files


def leftover_files(output: Path, expected: dict[Path, str]) -> list[Path]:
    """CRD files of ours in `output` that no current kind generates."""
    if not output.is_dir():
        return []
    ours = sorted(output.glob(f"*.{GROUP}{CRD_SUFFIX}"))
    return [path for path in ours if path not in expected]


def stale_files(output: Path, docs: Path) -> list[tuple[Path, str]]:
    """(path, what is wrong) for every file that is not what would be generated."""
    expected = expected_files(output, docs)
    problems: list[tuple[Path, str]] = []
    for path, text in expected.items():
        if not path.is_file():
            problems.append((path, "missing"))
        elif path.read_text(encoding="utf-8") != text:
            problems.append((path, "differs from the models"))
    problems += [(path, "no kind generates it") for path in leftover_files(output, expected)]
    return problems


def write_files(output: Path, docs: Path) -> list[str]:
    """Write what changed and remove leftovers; returns one line per file touched."""
    expected = expected_files(output, docs)
    done: list[str] = []
    for path, text in expected.items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        done.append(f"wrote {path}")
    for path in leftover_files(output, expected):
        path.unlink()
        done.append(f"removed {path}")
    return done


def run(args: argparse.Namespace) -> int:
    output: Path = args.output
    docs: Path = args.docs
    if args.check:
        problems = stale_files(output, docs)
        for path, problem in problems:
            print(f"stale: {path}: {problem}", file=sys.stderr)
        if problems:
            print(
                f"run `wasmgate crds --output {output} --docs {docs}` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{len(expected_files(output, docs))} generated files are up to date")
        return 0
    done = write_files(output, docs)
    for line in done:
        print(line)
    if not done:
        print("generated files already up to date")
    return 0
