"""How the docs test reads Markdown: fences, commands, exclusion keys and the script's line map."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.doc_blocks import Block, Command, build_script, commands, fenced_blocks, normalize

DOC = Path("doc.md")

MARKDOWN = """# Title

```bash
echo one
```

1. In a list:

   ```text
   shown, not run
   ```

```
no language
```

~~~sh
echo two
~~~
"""


def test_fenced_blocks_give_language_first_line_and_dedented_body() -> None:
    blocks = fenced_blocks(DOC, MARKDOWN)
    found = [(b.line, b.language, b.body, b.runnable) for b in blocks]
    assert found == [
        (3, "bash", ("echo one",), True),
        (9, "text", ("shown, not run",), False),
        (13, "", ("no language",), False),
        (17, "sh", ("echo two",), True),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["echo a", "", "# a comment", "echo b"], [(11, "echo a"), (14, "echo b")]),
        (["cosign sign --key k \\", "  -y img"], [(11, "cosign sign --key k \\\n  -y img")]),
        (
            ["cat > f <<'EOF'", "echo not a command", "EOF", "wc -l f"],
            [(11, "cat > f <<'EOF'\necho not a command\nEOF"), (14, "wc -l f")],
        ),
        (
            ["kubectl apply -f - <<EOF", "kind: Pod", "EOF"],
            [(11, "kubectl apply -f - <<EOF\nkind: Pod\nEOF")],
        ),
    ],
    ids=["comments-and-blanks", "continuation", "quoted-heredoc", "heredoc"],
)
def test_commands_of_a_shell_block(body: list[str], expected: list[tuple[int, str]]) -> None:
    block = Block(DOC, 10, "bash", tuple(body))
    assert [(c.line, c.text) for c in commands(block)] == expected


def test_console_commands_are_the_prompt_lines() -> None:
    block = Block(
        DOC, 1, "console", ("$ wasmgate validate x.wasm", "  verdict PASS", "$ ls \\", "  -l")
    )
    assert [(c.line, c.text) for c in commands(block)] == [
        (2, "wasmgate validate x.wasm"),
        (4, "ls \\\n  -l"),
    ]


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ("make demo   # local cluster", "make demo"),
        ("echo '#not a comment'  # but this is", "echo '#not a comment'"),
        ("curl a#b", "curl a#b"),
        ("cosign sign \\\n   --key k   img", "cosign sign --key k img"),
    ],
    ids=["trailing-comment", "hash-in-quotes", "hash-in-word", "continuation"],
)
def test_normalize_gives_the_exclusion_key(command: str, key: str) -> None:
    assert normalize(command) == key


def test_script_runs_blocks_in_order_skips_listed_commands_and_maps_lines(tmp_path: Path) -> None:
    text = '```bash\nx=1\nmake demo\n```\n\n```text\nnot run\n```\n\n```sh\necho "x=$x"\n```\n'
    blocks = fenced_blocks(DOC, text)

    def skip(command: Command) -> str | None:
        return "second kit" if command.key == "make demo" else None

    script = build_script(blocks, skip, ["set -euo pipefail"])
    (tmp_path / "s.sh").write_text(script.text)
    ran = subprocess.run(["bash", str(tmp_path / "s.sh")], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "### doc block doc.md:1",
        "skipped here (second kit): make demo",
        "### doc block doc.md:10",
        "x=1",
    ]
    lines = script.text.splitlines()
    assert script.doc_line(lines.index("x=1") + 1) == 2
    assert script.doc_line(lines.index('echo "x=$x"') + 1) == 11
    assert script.doc_line(1) == 0
