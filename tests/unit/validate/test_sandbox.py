"""The validator child: its limits end runaway modules, and every way it dies becomes a report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.validate_helpers import wat
from wasmgate.validate import ValidationLimits, sandbox, validate
from wasmgate.validate.protocol import ValidationRequest
from wasmgate.validate.report import sha256_digest

PASSING_FILTER = wat(
    '(module (memory (export "memory") 1) (func (export "filter") (result i32) (i32.const 0)))'
)
ENDLESS_FILTER = wat(
    '(module (memory (export "memory") 1)'
    ' (func (export "filter") (result i32) (loop $l (br $l)) (i32.const 0)))'
)
UNLIMITED_CALLS = {"call_fuel": 10**15, "call_time_ms": 600_000}


@pytest.fixture(params=[True, False], ids=["fork-server", "new-interpreter"])
def child_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of starting the child: forked by the fork server, or a new interpreter."""
    monkeypatch.setattr(sandbox, "USE_FORK_SERVER", request.param)


@pytest.mark.usefixtures("child_start")
def test_cpu_limit_kills_the_child_not_the_caller() -> None:
    limits = ValidationLimits(child_cpu_seconds=1, **UNLIMITED_CALLS)

    report = validate(ENDLESS_FILTER, limits=limits)

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message is not None
    assert report.message.startswith(
        "the validator child died with SIGXCPU: it used its CPU limit of 1 s "
        "(validator setting child_cpu_seconds)"
    )


@pytest.mark.usefixtures("child_start")
def test_wall_clock_timeout_kills_the_child() -> None:
    limits = ValidationLimits(child_timeout_seconds=1, **UNLIMITED_CALLS)

    report = validate(ENDLESS_FILTER, limits=limits)

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message == (
        "the validation did not finish within 1 s (validator setting child_timeout_seconds); "
        "the module takes too long to compile or to run"
    )


@pytest.mark.usefixtures("child_start")
def test_memory_limit_of_the_child_stops_a_memory_hungry_module() -> None:
    # 3000 pages (~190 MiB) of initial memory, over the child's data limit (the store's too).
    module = wat(
        '(module (memory (export "memory") 3000)'
        ' (func (export "filter") (result i32) (i32.const 0)))'
    )
    limits = ValidationLimits(memory_pages=4096, child_data_bytes=160 * 1024 * 1024)

    report = validate(module, limits=limits)

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message == (
        "instantiate trapped: memory minimum size of 3000 pages exceeds memory limits (guest "
        "memory 0 pages; the validator child may use 0.2 GiB of memory (validator setting "
        "child_data_bytes))"
    )


@pytest.mark.usefixtures("child_start")
def test_a_child_without_a_report_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "WORKER_MODULE", "wasmgate.validate.no_such_worker")
    data = PASSING_FILTER
    request = ValidationRequest(data, ValidationLimits(), "", 0, sha256_digest(data))

    report = sandbox.run_in_child(request)

    assert (report.verdict, report.reason) == ("error", "InternalError")
    assert report.message is not None
    assert report.message.startswith("the validator child exited with code 1 without a report:")
    assert "No module named wasmgate.validate.no_such_worker" in report.message
    assert report.failure() is not None
    assert report.failure().permanent is False  # type: ignore[union-attr]


def _fork_server_pid() -> int:
    servers = [s for (pid, _), s in sandbox._SERVERS._running.items() if pid == os.getpid()]
    assert len(servers) == 1
    return servers[0].process.pid


def test_limits_end_with_each_child_not_in_the_fork_server() -> None:
    """A request's rlimits cap only its own child: the next request gets its own limits."""
    module = wat(
        '(module (memory (export "memory") 3000)'
        ' (func (export "filter") (result i32) (i32.const 0)))'
    )
    tight = ValidationLimits(memory_pages=4096, child_data_bytes=160 * 1024 * 1024)

    first = validate(module, limits=tight)
    second = validate(module, limits=ValidationLimits(memory_pages=4096))

    assert (first.verdict, first.reason) == ("fail", "DryRunTrapped")
    assert (second.verdict, second.reason) == ("pass", None)


def test_a_dead_fork_server_is_replaced() -> None:
    assert validate(PASSING_FILTER).verdict == "pass"
    old = _fork_server_pid()
    os.kill(old, signal.SIGKILL)

    report = validate(PASSING_FILTER)

    assert (report.verdict, report.reason) == ("pass", None)
    assert _fork_server_pid() != old


def test_concurrent_validations_each_get_their_own_report() -> None:
    modules = [
        wat(
            f'(module (memory (export "memory") 1) (global i32 (i32.const {n}))'
            ' (func (export "filter") (result i32) (i32.const 0)))'
        )
        for n in range(6)
    ]
    modules[3] = ENDLESS_FILTER

    with ThreadPoolExecutor(max_workers=len(modules)) as pool:
        reports = list(pool.map(validate, modules))

    assert [r.digest for r in reports] == [sha256_digest(m) for m in modules]
    assert [r.verdict for r in reports] == ["pass", "pass", "pass", "fail", "pass", "pass"]


def _validate_in_new_interpreter(code: str) -> str:
    """Run `code` with PASSING_FILTER's hex as argv[1] in a new interpreter; its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code, PASSING_FILTER.hex()],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_the_fork_server_ends_with_its_caller() -> None:
    server_pid = _validate_in_new_interpreter(
        "import sys\n"
        "from wasmgate.validate import sandbox, validate\n"
        "assert validate(bytes.fromhex(sys.argv[1])).verdict == 'pass'\n"
        "print(next(iter(sandbox._SERVERS._running.values())).process.pid)\n"
    )

    with pytest.raises(ProcessLookupError):
        os.kill(int(server_pid), 0)


@pytest.mark.parametrize(
    ("signum", "fragment"),
    [
        (
            signal.SIGXCPU,
            "SIGXCPU: it used its CPU limit of 60 s (validator setting child_cpu_seconds)",
        ),
        (
            signal.SIGKILL,
            "SIGKILL: it was killed: the hard CPU limit or the system's out-of-memory",
        ),
        (
            signal.SIGABRT,
            "SIGABRT: it crashed; most often an allocation failed against the "
            "memory limit of 2.0 GiB (validator setting child_data_bytes); stderr: boom",
        ),
    ],
    ids=["sigxcpu", "sigkill", "sigabrt"],
)
def test_signal_messages(signum: int, fragment: str) -> None:
    message = sandbox._signal_message(signum, ValidationLimits(), "  boom\n")

    assert message.startswith("the validator child died with ")
    assert fragment in message


def test_the_calling_process_never_loads_wasmtime() -> None:
    """The operator imports the stage and validates without the runtime in its own process."""
    printed = _validate_in_new_interpreter(
        "import sys\n"
        "from wasmgate.validate import validate\n"
        "report = validate(bytes.fromhex(sys.argv[1]))\n"
        "print(report.verdict, 'wasmtime' in sys.modules)\n"
    )

    assert printed.split() == ["pass", "False"]
