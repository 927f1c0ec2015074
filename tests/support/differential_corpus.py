"""The differential suite's corpus: every module whose verdict must match upstream's.

Three sources: the plugins this project builds (tests/assets/wasm), upstream's own test guests
(scheduler/test/testdata in the pinned snapshot, read in place, never copied), and the variants
below, generated as WAT so each names the one thing it varies: a wrong signature per extension
point, a trap and an endless loop per point, proc_exit in _start, huge memories, missing halves of
pairs, normalized score lists of every shape, exports upstream never calls, large guestConfigs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from wasmgate_kit.paths import repo_root
from wasmgate_kit.upstream_snapshot import find_snapshot

# Result type of each extension point (upstream plugin/guest.go detectInterfaces).
RESULTS = {
    "enqueue": "",
    "prefilter": "i32",
    "filter": "i32",
    "postfilter": "i64",
    "prescore": "i32",
    "score": "i64",
    "normalizescore": "i32",
    "reserve": "i32",
    "unreserve": "",
    "permit": "i64",
    "prebind": "i32",
    "bind": "i32",
    "postbind": "",
    "addpod": "i32",
    "removepod": "i32",
}
# The smallest set of other exports with which upstream calls the point (mask.go groups; the
# binding cycle needs a scheduling-cycle export first, see guestPool.getForBinding).
COMPANIONS = {
    "enqueue": ("filter",),
    "prefilter": ("filter",),
    "filter": (),
    "postfilter": ("filter",),
    "prescore": ("score",),
    "score": (),
    "normalizescore": ("score",),
    "reserve": ("unreserve",),
    "unreserve": ("reserve",),
    "permit": (),
    "prebind": ("permit", "bind"),
    "bind": ("permit",),
    "postbind": ("permit", "bind"),
    "addpod": ("filter", "removepod"),
    "removepod": ("filter", "addpod"),
}
SCORE_50 = 50 << 32  # score 50, status Success: score packs score<<32 | code
FOUR_NODES = ("node-0", "node-1", "node-2", "node-3")


@dataclass(frozen=True)
class CorpusModule:
    name: str
    path: Path
    guest_config: str = ""


def _returning_success(point: str) -> str:
    result = RESULTS[point]
    if not result:
        return f'(func (export "{point}"))'
    value = SCORE_50 if point == "score" else 0
    return f'(func (export "{point}") (result {result}) {result}.const {value})'


def _with_body(point: str, body: str) -> str:
    result = RESULTS[point]
    tail = f" {result}.const 0" if result else ""
    signature = f" (result {result})" if result else ""
    return f'(func (export "{point}"){signature} {body}{tail})'


def _module(*parts: str, memory: str = '(memory (export "memory") 1)') -> str:
    imports = [p for p in parts if p.startswith("(import ")]
    rest = [p for p in parts if not p.startswith("(import ")]
    return "(module " + " ".join((*imports, memory, *rest)) + ")"


def _plugin(point: str, body: str) -> str:
    """A module where `point` runs `body` and its companions return Success."""
    others = [_returning_success(p) for p in COMPANIONS[point]]
    return _module(_with_body(point, body), *others)


def _normalizing(json_text: str) -> str:
    escaped = json_text.replace("\\", "\\\\").replace('"', '\\"')
    return _module(
        '(import "k8s.io/scheduler" "result.normalized_score_list" (func $set (param i32 i32)))',
        f'(data (i32.const 0) "{escaped}")',
        _returning_success("score"),
        f'(func (export "normalizescore") (result i32) '
        f"(call $set (i32.const 0) (i32.const {len(json_text.encode())})) i32.const 0)",
    )


def generated_variants() -> Iterator[tuple[str, str, str]]:
    """(name, WAT, guestConfig) of every generated variant."""
    for point, result in RESULTS.items():
        results = f" (result {result})" if result else ""
        value = f"{result}.const 0" if result else ""
        wrong = f'(func (export "{point}") (param i32){results} {value})'
        companions = [_returning_success(p) for p in ("filter",) if p != point]
        yield f"exports_{point}_wrong_signature", _module(wrong, *companions), ""
    for point in RESULTS:
        yield f"{point}_traps", _plugin(point, "unreachable"), ""
    for point in ("enqueue", "filter", "score", "permit", "postbind"):
        yield f"{point}_endless_loop", _plugin(point, "(loop $forever (br $forever))"), ""
    yield (
        "start_endless_loop",
        _module(
            '(func (export "_start") (loop $forever (br $forever)))', _returning_success("filter")
        ),
        "",
    )
    for code in (0, 3):
        yield (
            f"start_proc_exit_{code}",
            _module(
                '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))',
                f'(func (export "_start") (call $exit (i32.const {code})))',
                _returning_success("filter"),
            ),
            "",
        )
    for pages in (2048, 16384):
        yield (
            f"memory_initial_{pages}_pages",
            _module(_returning_success("filter"), memory=f'(memory (export "memory") {pages})'),
            "",
        )
    yield "reserve_without_unreserve", _module(_returning_success("reserve")), ""
    yield "unreserve_without_reserve", _module(_returning_success("unreserve")), ""
    yield (
        "addpod_without_removepod",
        _module(*(_returning_success(p) for p in ("filter", "addpod"))),
        "",
    )
    yield (
        "removepod_without_addpod",
        _module(*(_returning_success(p) for p in ("filter", "removepod"))),
        "",
    )
    yield "bind_only", _module(_returning_success("bind")), ""
    yield "prebind_bind_only", _module(*(_returning_success(p) for p in ("prebind", "bind"))), ""
    yield "addpod_only", _module(_returning_success("addpod")), ""
    yield (
        "prescore_trap_without_score",
        _module(_returning_success("filter"), _with_body("prescore", "unreachable")),
        "",
    )
    yield (
        "postbind_trap_without_bind",
        _module(_returning_success("permit"), _with_body("postbind", "unreachable")),
        "",
    )
    all_nodes = ",".join(f'"{n}":{10 * (i + 1)}' for i, n in enumerate(FOUR_NODES))
    lists = {
        "empty_object": "{}",
        "null": "null",
        "partial": '{"node-0":10}',
        "complete": "{" + all_nodes + "}",
        "out_of_range": "{" + all_nodes.replace(":40", ":150") + "}",
        "array": "[1,2,3,4]",
        "not_json": "{",
        "float_scores": "{" + all_nodes.replace(":10", ":1.5") + "}",
    }
    for label, text in lists.items():
        yield f"normalized_score_list_{label}", _normalizing(text), ""
    reads_config = _module(
        '(import "k8s.io/scheduler" "get_config" (func $config (param i32 i32) (result i32)))',
        '(func (export "filter") (result i32) '
        "(if (result i32) (i32.gt_u (call $config (i32.const 1024) (i32.const 65536)) "
        "(i32.const 60000)) (then i32.const 0) (else i32.const 1)))",
        memory='(memory (export "memory") 2)',
    )
    yield "guest_config_64k", reads_config, "x" * 64_000
    yield "guest_config_1m", reads_config, "y" * 1_048_576
    yield "guest_config_short_answers_error", reads_config, "short"


def upstream_testdata() -> Path:
    """scheduler/test/testdata of the pinned snapshot; fails (never skips) when it is missing."""
    snapshot = find_snapshot(repo_root())
    if snapshot is None:
        raise FileNotFoundError(
            "the upstream snapshot (../shared/upstream/kube-scheduler-wasm-extension) is missing: "
            "the differential suite compares against upstream's own test guests"
        )
    return snapshot / "scheduler" / "test" / "testdata"


def build_corpus(assets: dict[str, Path], out_dir: Path) -> list[CorpusModule]:
    """Every module of the suite; generated variants are written into `out_dir`."""
    corpus = [CorpusModule(f"asset/{name}", path) for name, path in sorted(assets.items())]
    testdata = upstream_testdata()
    corpus += [
        CorpusModule(f"upstream/{p.parent.name}/{p.stem}", p)
        for p in sorted(testdata.glob("*/*.wasm"))
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, wat, guest_config in generated_variants():
        path = out_dir / f"{name}.wasm"
        path.write_bytes(bytes(wasmtime.wat2wasm(wat)))
        corpus.append(CorpusModule(f"generated/{name}", path, guest_config))
    return corpus
