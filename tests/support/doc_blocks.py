"""The shell commands shown in Markdown docs, found and turned into one script per file.

The docs promise that every command they show in a ```bash, ```sh or ```console block runs;
`tests/e2e/docs/test_doc_commands.py` keeps that promise by running them. This module is the pure
part: find fenced blocks (with the line each starts on), split a block into commands (a
backslash continues a line, a heredoc belongs to the command that opens it, a console block's
commands are its `$ ` lines), and write the script that runs a file's blocks in order, in one
shell, with the commands a test cannot run replaced by a note.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

RUNNABLE = frozenset({"bash", "sh", "console"})
_OPEN_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)(?P<info>[^`]*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")
_PROMPT = "$ "


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts (1-based line of the opening fence) and its body."""

    path: Path
    line: int
    language: str
    body: tuple[str, ...]

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE


@dataclass(frozen=True)
class Command:
    """One command of a runnable block: its text as shown and the doc line it starts on."""

    line: int
    text: str

    @property
    def key(self) -> str:
        """The command without a trailing comment and with blanks collapsed (exclusion key)."""
        return normalize(self.text)


def fenced_blocks(path: Path, text: str | None = None) -> list[Block]:
    """Every fenced block of a Markdown file, in order (indented fences in lists included)."""
    lines = (path.read_text() if text is None else text).splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _OPEN_FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower()
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            line = lines[index]
            body.append(line[indent:] if line[:indent].strip() == "" else line)
            index += 1
        blocks.append(Block(path, index - len(body), language, tuple(body)))
        index += 1
    return blocks


def normalize(command: str) -> str:
    """A command's identity: lines joined, continuations and comments dropped, blanks single."""
    parts = [_without_comment(line.rstrip().removesuffix("\\")) for line in command.splitlines()]
    return " ".join(" ".join(parts).split())


def _without_comment(line: str) -> str:
    """The line up to a `#` that starts a shell comment (outside quotes, after a blank)."""
    in_single = in_double = False
    for position, char in enumerate(line):
        if char == "'" and not in_double:
            in_single = not in_single
        elif char == '"' and not in_single:
            in_double = not in_double
        elif (
            char == "#"
            and not in_single
            and not in_double
            and (position == 0 or line[position - 1].isspace())
        ):
            return line[:position].rstrip()
    return line


def commands(block: Block) -> list[Command]:
    """The commands of a runnable block, each with the doc line it starts on."""
    if block.language == "console":
        return _console_commands(block)
    found: list[Command] = []
    current: list[str] = []
    start = 0
    heredoc: str | None = None
    for offset, line in enumerate(block.body):
        number = block.line + 1 + offset
        if not current:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        current.append(line)
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            else:
                continue
        else:
            opened = _HEREDOC.search(_without_comment(line))
            if opened is not None:
                heredoc = opened["word"]
                continue
            if line.rstrip().endswith("\\"):
                continue
        found.append(Command(start, "\n".join(current)))
        current = []
    if current:
        found.append(Command(start, "\n".join(current)))
    return found


def _console_commands(block: Block) -> list[Command]:
    found: list[Command] = []
    current: list[str] = []
    start = 0
    for offset, line in enumerate(block.body):
        if current and current[-1].rstrip().endswith("\\"):
            current.append(line)
            continue
        if current:
            found.append(Command(start, "\n".join(current)))
            current = []
        if line.startswith(_PROMPT):
            start = block.line + 1 + offset
            current = [line[len(_PROMPT) :]]
    if current:
        found.append(Command(start, "\n".join(current)))
    return found


@dataclass(frozen=True)
class Script:
    """A file's runnable blocks as one bash script, and the doc line of each script line."""

    text: str
    doc_lines: tuple[int, ...]

    def doc_line(self, script_line: int) -> int:
        """The doc line a 1-based script line came from (0 for the script's own lines)."""
        if 1 <= script_line <= len(self.doc_lines):
            return self.doc_lines[script_line - 1]
        return 0


BLOCK_MARKER = "### doc block"


def build_script(
    blocks: Sequence[Block], skip: Callable[[Command], str | None], preamble: Sequence[str]
) -> Script:
    """One bash script running the runnable blocks in order, as one session.

    `skip(command)` returns why a command cannot run here (it is then replaced by an `echo` of
    that reason, so later lines keep their place), or None. `preamble` lines come first (shell
    options, the ERR trap); they map to doc line 0.
    """
    lines: list[str] = list(preamble)
    doc_lines: list[int] = [0] * len(lines)
    for block in blocks:
        if not block.runnable:
            continue
        marker = f"{BLOCK_MARKER} {block.path.name}:{block.line}"
        lines.append(f"echo {shlex.quote(marker)}")
        doc_lines.append(block.line)
        for command in commands(block):
            reason = skip(command)
            text_lines = command.text.splitlines()
            if reason is not None:
                note = f"skipped here ({reason}): {command.key}"
                lines.append(f"echo {shlex.quote(note)}")
                doc_lines.append(command.line)
                continue
            lines.extend(text_lines)
            doc_lines.extend(range(command.line, command.line + len(text_lines)))
    return Script("\n".join(lines) + "\n", tuple(doc_lines))
