"""Benchmark of the validate stage: what a full validation costs next to a bare compile.

Run:  .venv/bin/python benchmarks/validate/bench_validate.py [--size-mb 3] [--rounds 5] [--nodes N]

Prints, for a generated module of about 3 MB:
- full sandboxed validation (fork of a validator child, static check, compile, dry run)
  against a bare `wasmtime.Module(Engine(), bytes)` compile of the same bytes in the same run,
  round by round, and the median of the rounds' ratios (target: 1.2x or less); the same ratio
  in CPU time of every process involved (this one, the fork server and the children it
  reaps), which a busy machine disturbs far less than wall time; the first validation of the
  process, which also starts the validator's fork server, is shown apart;
- a cached validation (target: under 5 ms);
- the host-call overhead of a filter over 100 nodes: per-call time of a filter that makes three
  host calls against one that makes none.
Numbers are medians over the rounds; nothing here is asserted, the ratios are for people.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from wasmgate.validate import ValidationCache, ValidationLimits, validate

# Instruction bytes (WebAssembly binary opcodes) of one arithmetic step over local 0.
_STEP = bytes(
    [
        0x20, 0x00,  # local.get 0
        0x41, 0x1F,  # i32.const 31
        0x6C,  # i32.mul
        0x20, 0x00,  # local.get 0
        0x41, 0xFC, 0x07,  # i32.const 1020
        0x71,  # i32.and
        0x28, 0x02, 0x00,  # i32.load align=4 offset=0
        0x6A,  # i32.add
        0x21, 0x00,  # local.set 0
    ]
)  # fmt: skip
STEPS_PER_FUNCTION = 60


def _u32(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + _u32(len(payload)) + payload


def _vector(items: list[bytes]) -> bytes:
    return _u32(len(items)) + b"".join(items)


def _name(text: str) -> bytes:
    return _u32(len(text)) + text.encode()


def generate_module(target_bytes: int) -> bytes:
    """A valid filter plugin of about `target_bytes`, mostly many mid-sized functions."""
    body = (
        b"\x00" + _STEP * STEPS_PER_FUNCTION + b"\x20\x00\x0b"
    )  # no locals; ...; local.get 0; end
    helper = _u32(len(body)) + body
    count = max(1, target_bytes // len(helper))
    filter_body = b"\x00\x41\x00\x0b"  # i32.const 0; end
    types = _vector([b"\x60\x01\x7f\x01\x7f", b"\x60\x00\x01\x7f"])  # (i32)->i32, ()->i32
    functions = _vector([b"\x00"] * count + [b"\x01"])
    memory = _vector([b"\x00\x01"])  # min 1 page
    exports = _vector([_name("memory") + b"\x02\x00", _name("filter") + b"\x00" + _u32(count)])
    code = _vector([helper] * count + [_u32(len(filter_body)) + filter_body])
    return (
        b"\0asm\x01\x00\x00\x00"
        + _section(1, types)
        + _section(3, functions)
        + _section(5, memory)
        + _section(7, exports)
        + _section(10, code)
    )


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _stat_fields(pid: str) -> list[str]:
    """Fields of /proc/PID/stat from the state on (the name may hold spaces); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _children_of(pid: str) -> list[str]:
    return [
        p.name
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _stat_fields(p.name)[1:2] == [pid]
    ]


def _descendants_cpu() -> float:
    """CPU seconds of this process's children and of all they have reaped, once they have.

    The validator's fork server is this process's child; it reaps each validation's processes,
    so their CPU time lands in its own accounting (proc(5) utime, stime, cutime, cstime).
    """
    children = _children_of(str(os.getpid()))
    deadline = time.monotonic() + 5
    while any(_children_of(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.01)
    ticks = sum(sum(int(f) for f in _stat_fields(c)[11:15]) for c in children)
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu() -> float:
    """CPU seconds of this process, of the children it has reaped and of those still running."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return _own_cpu() + reaped.ru_utime + reaped.ru_stime + _descendants_cpu()


@dataclass(frozen=True)
class _Sample:
    wall: float
    cpu: float


def bench_compile_vs_validate(data: bytes, rounds: int) -> None:
    def bare_compile() -> _Sample:
        cpu = _own_cpu()
        wall = _timed(lambda: wasmtime.Module(wasmtime.Engine(), data))
        return _Sample(wall, _own_cpu() - cpu)

    def full_validation() -> _Sample:
        cpu = _tree_cpu()
        started = time.perf_counter()
        report = validate(data)
        wall = time.perf_counter() - started
        if report.verdict != "pass":
            raise SystemExit(f"the generated module did not pass: {report.message}")
        return _Sample(wall, _tree_cpu() - cpu)

    # The first validation in a process also starts the validator's fork server; shown apart.
    first_bare, first_full = bare_compile(), full_validation()
    bare, full = [], []
    for round_ in range(rounds):
        # Alternate which goes first, so that a machine getting busier or quieter during the
        # run weighs on both sides alike.
        if round_ % 2:
            full.append(full_validation())
            bare.append(bare_compile())
        else:
            bare.append(bare_compile())
            full.append(full_validation())
    walls = sorted(f.wall / b.wall for f, b in zip(full, bare, strict=True))
    cpus = sorted(f.cpu / b.cpu for f, b in zip(full, bare, strict=True))
    print(f"module size:             {len(data) / 1e6:.2f} MB")
    print(
        f"bare wasmtime compile:   {_median_ms([b.wall for b in bare]):8.1f} ms  "
        f"(median of {rounds}; CPU {_median_ms([b.cpu for b in bare]):.0f} ms)"
    )
    print(
        f"full validation:         {_median_ms([f.wall for f in full]):8.1f} ms  "
        f"(sandboxed child, no cache; CPU {_median_ms([f.cpu for f in full]):.0f} ms)"
    )
    print(
        f"ratio full/bare:         {statistics.median(walls):8.2f}x  (median of the round "
        f"ratios; min {walls[0]:.2f}x, max {walls[-1]:.2f}x; target <= 1.2x)"
    )
    print(
        f"CPU ratio full/bare:     {statistics.median(cpus):8.2f}x  (min {cpus[0]:.2f}x, "
        f"max {cpus[-1]:.2f}x; CPU time, all processes, less sensitive to a busy machine)"
    )
    print(
        f"first validation:        {first_full.wall * 1000:8.1f} ms  (starts the fork server; "
        f"{first_full.wall / first_bare.wall:.2f}x a first compile of "
        f"{first_bare.wall * 1000:.1f} ms)"
    )


def bench_cached(data: bytes, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        cache = ValidationCache(Path(directory))
        validate(data, cache=cache)
        warm = [_timed(lambda: validate(data, cache=cache)) for _ in range(max(rounds, 20))]
        cold_process = ValidationCache(Path(directory))  # a restarted operator: disk only
        disk = [_timed(lambda: validate(data, cache=cold_process))]
    print(f"cached validation:       {_median_ms(warm):8.2f} ms  (memory hit, target < 5 ms)")
    print(f"cached validation:       {_median_ms(disk):8.2f} ms  (first hit from disk)")


_FILTER_WITH_HOST_CALLS = """
(module
  (import "k8s.io/scheduler" "get_config" (func $config (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentNodeName" (func $node (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentPod" (func $pod (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32)
    (drop (call $config (i32.const 0) (i32.const 1024)))
    (drop (call $node (i32.const 1024) (i32.const 1024)))
    (drop (call $pod (i32.const 2048) (i32.const 4096)))
    (i32.const 0)))
"""
_FILTER_WITHOUT_HOST_CALLS = """
(module (memory (export "memory") 1) (func (export "filter") (result i32) (i32.const 0)))
"""
HOST_CALLS_PER_FILTER = 3


def _filter_micros(source: str, nodes: int) -> float:
    report = validate(bytes(wasmtime.wat2wasm(source)), limits=ValidationLimits(nodes=nodes))
    # The first call pays one-time costs (lazy trampolines); leave it out.
    micros = [c.micros for c in report.calls if c.point == "filter"][1:]
    return statistics.median(micros)


def bench_host_calls(nodes: int) -> None:
    with_calls = _filter_micros(_FILTER_WITH_HOST_CALLS, nodes)
    without = _filter_micros(_FILTER_WITHOUT_HOST_CALLS, nodes)
    per_host_call = (with_calls - without) / HOST_CALLS_PER_FILTER
    print(f"filter over {nodes} nodes:    {without:8.1f} µs/call without host calls")
    print(f"{'':25}{with_calls:8.1f} µs/call with {HOST_CALLS_PER_FILTER} host calls")
    print(f"host-call overhead:      {per_host_call:8.1f} µs per host call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args()
    data = generate_module(int(args.size_mb * 1_000_000))
    bench_compile_vs_validate(data, args.rounds)
    bench_cached(data, args.rounds)
    bench_host_calls(args.nodes)


if __name__ == "__main__":
    main()
