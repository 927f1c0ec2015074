"""The validator child: `python -m wasmgate.validate.worker`, started by `sandbox.py`.

It reads a request (see `protocol.py`) from stdin and writes one JSON ValidationReport to
stdout. It caps its own address space, writable memory, CPU time and open files before it reads
the module, so whatever the module does to wasmtime, the damage ends with this process.

Started with `--fork-server FD`, the same module is a fork server instead: it imports everything
a validation needs once (the interpreter, pydantic and wasmtime cost about 0.2 s, a fifth of
compiling a 3 MB module), then forks one fresh child per request that it receives on the socket
FD. Each child is a new process that applies that request's limits and runs `serve` exactly as
above, so the sandbox is unchanged; only the start-up is paid once per caller instead of once
per validation. The server itself never reads a module and never creates a wasmtime engine, so
it stays single-threaded and safe to fork.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import socket
import sys
import traceback
from typing import BinaryIO

from wasmgate.validate.pipeline import validate_in_process
from wasmgate.validate.protocol import (
    CHILD_STARTED,
    FORK_SERVER_FLAG,
    FORK_SERVER_READY,
    FORK_SERVER_REQUEST_FDS,
    FORK_SERVER_RUN,
    FORK_SERVER_UNSUPPORTED,
    decode_request,
    read_header,
)
from wasmgate.validate.settings import ValidationLimits

# SIGXCPU arrives at the soft CPU limit; the hard limit (SIGKILL) follows after this grace.
CPU_GRACE_SECONDS = 5
MAX_OPEN_FILES = 256


def apply_rlimits(limits: ValidationLimits) -> None:
    address_space, data = limits.child_address_space_bytes, limits.child_data_bytes
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_DATA, (data, data))
    resource.setrlimit(
        resource.RLIMIT_CPU,
        (limits.child_cpu_seconds, limits.child_cpu_seconds + CPU_GRACE_SECONDS),
    )
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    header = read_header(stdin)
    # Limits first: decode the header alone, cap the process, only then read the module.
    limits = decode_request(header, b"").limits
    apply_rlimits(limits)
    request = decode_request(header, stdin.read())
    report = validate_in_process(
        request.data,
        request.limits,
        guest_config=request.guest_config,
        log_severity=request.log_severity,
        digest=request.digest,
    )
    stdout.write(report.model_dump_json().encode("utf-8"))
    stdout.flush()


def _validate_and_exit(stdio: tuple[int, int, int]) -> None:
    """Serve one request with `stdio` as fds 0, 1 and 2; leave without interpreter teardown."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
            os.close(fd)
        serve(os.fdopen(0, "rb", closefd=False), os.fdopen(1, "wb", closefd=False))
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    # Skip interpreter teardown: wasmtime's WASI keeps tokio worker threads that can abort the
    # process while Python finalizes, after the report is already written.
    os._exit(0)


def _watch(fds: list[int]) -> None:
    """Fork the validator child for one request, then report how it ended; never returns.

    This process stays between the server and the child so that the child's wait status (a
    signal from a limit, a crash) reaches the caller, and so that only the child's own parent
    ever kills it: a kill request from the caller, or the caller going away, kills a child
    that has not been reaped yet, never a recycled pid.
    """
    request, report, diagnostics, status_fd = fds
    status = socket.socket(fileno=status_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        status.close()
        _validate_and_exit((request, report, diagnostics))
    for fd in (request, report, diagnostics):
        os.close(fd)
    exited = os.pidfd_open(pid)
    with contextlib.suppress(OSError):  # a caller already gone is seen by the select below
        status.sendall(CHILD_STARTED)
    readable, _, _ = select.select([exited, status_fd], [], [])
    if exited not in readable:  # a kill request, or the caller is gone
        os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):  # the caller may be gone
        status.sendall(str(wait_status).encode("ascii"))
    os._exit(0)


def _reap_watchers(signum: int, frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def fork_server(control: socket.socket) -> None:
    """Fork a watched validator child per request until the caller closes `control`."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        sys.exit(FORK_SERVER_UNSUPPORTED)  # the caller then starts a new interpreter per request
    # Reap each watcher as it ends. Not SIG_IGN: the kernel would then drop the CPU time of the
    # watcher and its child, which this way reaches the caller's own accounting (`time`, wait4)
    # as when the child was the caller's own.
    signal.signal(signal.SIGCHLD, _reap_watchers)
    # A Ctrl-C at the caller's terminal interrupts the caller and the running child, as with a
    # child of its own; the server ends when the caller closes `control` (or exits).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control.sendall(FORK_SERVER_READY)
    while True:
        message, fds, _, _ = socket.recv_fds(control, len(FORK_SERVER_RUN), FORK_SERVER_REQUEST_FDS)
        if message != FORK_SERVER_RUN or len(fds) != FORK_SERVER_REQUEST_FDS:
            for fd in fds:
                os.close(fd)
            return
        try:
            pid = os.fork()
        except OSError:
            pid = -1  # the caller sees its status socket close before CHILD_STARTED
        if pid == 0:
            # Whatever happens in the watcher, it must never return into this loop.
            try:
                control.close()
                _watch(fds)
            except BaseException:
                traceback.print_exc()
            os._exit(1)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    if sys.argv[1:2] == [FORK_SERVER_FLAG]:
        fork_server(socket.socket(fileno=int(sys.argv[2])))
        sys.exit(0)
    serve(sys.stdin.buffer, sys.stdout.buffer)
    os._exit(0)
