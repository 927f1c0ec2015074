"""Run the validator in a child process, so a pathological module cannot take the caller down.

The child (`worker.py`) caps its address space, memory and CPU time; this side adds a wall-clock
timeout and turns every way the child can die into a report. A module that kills the validator
(a crash inside the runtime, the CPU or memory limit, the timeout) fails with DryRunTrapped:
we cannot tell a runtime crash from a module that provokes one, and neither may reach the
scheduler. Only a child that exits normally without a report (a bug on our side) is an error.

Every validation gets a fresh child. Where Linux offers memfd and pidfd (everywhere the
operator runs), the child is forked from a fork server that this process starts on first use
and that has already imported the validator, instead of being a new interpreter that imports it
again: that start-up was the largest cost of a validation after the compile itself. The request,
the report and the child's stderr travel in memory files, so this side only waits for the
child's status. Elsewhere each validation starts `python -m wasmgate.validate.worker`.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from pydantic import ValidationError

from wasmgate.errors import DryRunTrapped
from wasmgate.validate.protocol import (
    CHILD_STARTED,
    FORK_SERVER_FLAG,
    FORK_SERVER_READY,
    FORK_SERVER_RUN,
    FORK_SERVER_UNSUPPORTED,
    KILL_REQUEST,
    STATUS_BYTES,
    ValidationRequest,
    encode_request,
)
from wasmgate.validate.report import ValidationOutcome, ValidationReport
from wasmgate.validate.settings import ValidationLimits

WORKER_MODULE = "wasmgate.validate.worker"
STDERR_TAIL_CHARS = 2000
# After a timeout the child is killed; its status then comes back at once.
KILL_GRACE_SECONDS = 10.0
SERVER_STOP_SECONDS = 5.0
# A request that started no child (the server had just died) is sent once more, to a new server.
FORK_ATTEMPTS = 2
USE_FORK_SERVER = hasattr(os, "memfd_create") and hasattr(os, "pidfd_open")


def outcome_report(
    request: ValidationRequest, verdict: ValidationOutcome, reason: str, message: str
) -> ValidationReport:
    """A report for a validation that produced no report of its own."""
    return ValidationReport(
        digest=request.digest,
        size=len(request.data),
        verdict=verdict,
        reason=reason,
        message=message,
        guest_config=request.guest_config,
        limits=request.limits.as_dict(),
    )


def _signal_message(signum: int, limits: ValidationLimits, stderr: str) -> str:
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else signum
    data_gib = limits.child_data_bytes / (1024**3)
    if signum == signal.SIGXCPU:
        cause = (
            f"it used its CPU limit of {limits.child_cpu_seconds} s "
            "(validator setting child_cpu_seconds)"
        )
    elif signum == signal.SIGKILL:
        cause = "it was killed: the hard CPU limit or the system's out-of-memory killer"
    else:
        cause = (
            "it crashed; most often an allocation failed against the memory limit of "
            f"{data_gib:.1f} GiB (validator setting child_data_bytes)"
        )
    tail = stderr.strip()[-STDERR_TAIL_CHARS:]
    detail = f"; stderr: {tail}" if tail else ""
    return f"the validator child died with {name}: {cause}{detail}"


@dataclass(frozen=True)
class _Exit:
    """How a validator child ended: its return code (negative: the signal) and its output."""

    returncode: int
    stdout: bytes
    stderr: bytes


class _Timeout(Exception):
    """The child did not finish within the request's child_timeout_seconds."""


class _NoChild(Exception):
    """No child ran, or it left no status: a failure on our side, never the module's."""


def _no_report(returncode: int, stderr: bytes) -> str:
    tail = stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:] or "(no output)"
    return f"the validator child exited with code {returncode} without a report: {tail}"


def run_in_child(request: ValidationRequest) -> ValidationReport:
    limits = request.limits
    payload = encode_request(request)
    try:
        if USE_FORK_SERVER and not _SERVERS.unsupported:
            ended = _run_forked(payload, limits.child_timeout_seconds)
        else:
            ended = _run_spawned(payload, limits.child_timeout_seconds)
    except _Timeout:
        return outcome_report(
            request,
            "fail",
            DryRunTrapped.reason,
            f"the validation did not finish within {limits.child_timeout_seconds} s "
            "(validator setting child_timeout_seconds); the module takes too long to compile "
            "or to run",
        )
    except _NoChild as e:
        return outcome_report(request, "error", "InternalError", str(e))
    # A complete report stands even if the child died afterwards, while tearing down.
    try:
        return ValidationReport.model_validate_json(ended.stdout)
    except ValidationError:
        pass
    if ended.returncode < 0:
        stderr = ended.stderr.decode("utf-8", "replace")
        message = _signal_message(-ended.returncode, limits, stderr)
        return outcome_report(request, "fail", DryRunTrapped.reason, message)
    return outcome_report(
        request, "error", "InternalError", _no_report(ended.returncode, ended.stderr)
    )


def _run_spawned(payload: bytes, timeout: int) -> _Exit:
    """One new interpreter for this validation."""
    try:
        child = subprocess.run(
            [sys.executable, "-m", WORKER_MODULE],
            input=payload,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd="/",
        )
    except subprocess.TimeoutExpired as e:
        raise _Timeout from e
    return _Exit(child.returncode, child.stdout, child.stderr)


def _run_forked(payload: bytes, timeout: int) -> _Exit:
    """A child forked by the fork server; falls back to `_run_spawned` where that cannot run."""
    deadline = time.monotonic() + timeout
    names = ("wasmgate-request", "wasmgate-report", "wasmgate-stderr")
    files = [os.memfd_create(name) for name in names]
    try:
        _write_all(files[0], payload)
        for _ in range(FORK_ATTEMPTS):
            try:
                ended = _run_in_forked_child(files, deadline, timeout)
            except _Unsupported:
                return _run_spawned(payload, timeout)
            if ended is not None:
                return ended
        raise _NoChild(
            f"the validator's fork server started no child in {FORK_ATTEMPTS} attempts "
            "(is the process limit reached?); retry"
        )
    finally:
        for fd in files:
            os.close(fd)


def _run_in_forked_child(files: list[int], deadline: float, timeout: int) -> _Exit | None:
    """None when no child started (the server had died or could not fork): worth a retry."""
    os.lseek(files[0], 0, os.SEEK_SET)
    server = _SERVERS.current(timeout)
    ours, theirs = socket.socketpair()
    try:
        try:
            socket.send_fds(server.control, [FORK_SERVER_RUN], [*files, theirs.fileno()])
        except OSError:
            _SERVERS.drop(server)
            return None
        theirs.close()
        try:
            reply = _receive_reply(ours, deadline)
        except _Timeout:
            # The watcher kills the child, which it has not reaped yet, and reports its end.
            try:
                ours.sendall(KILL_REQUEST)
                _receive_reply(ours, time.monotonic() + KILL_GRACE_SECONDS)
            except (OSError, _Timeout):
                pass
            raise
        if not reply.startswith(CHILD_STARTED):
            _SERVERS.drop(server)
            return None
        status = reply.removeprefix(CHILD_STARTED)
        if not status.isdigit():
            raise _NoChild(
                "the validator child's watcher ended without the child's status "
                "(it was probably killed); retry"
            )
        returncode = os.waitstatus_to_exitcode(int(status))
        return _Exit(returncode, _read_all(files[1]), _read_all(files[2]))
    finally:
        ours.close()
        theirs.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int) -> bytes:
    return os.pread(fd, os.fstat(fd).st_size, 0)


def _receive_reply(sock: socket.socket, deadline: float) -> bytes:
    """All the watcher sends (CHILD_STARTED, then the child's wait status) until it closes."""
    received = b""
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(STATUS_BYTES)
        except TimeoutError as e:
            raise _Timeout from e
        if not chunk:
            return received
        received += chunk


class _Unsupported(Exception):
    """This kernel refuses what the fork server needs (pidfd); spawn a child per validation."""


@dataclass(frozen=True)
class _Server:
    process: subprocess.Popen[bytes]
    control: socket.socket

    def stop(self) -> None:
        self.control.close()  # the server's signal to exit
        try:
            self.process.wait(SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start_server(timeout: int) -> _Server:
    control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stderr = os.memfd_create("wasmgate-fork-server-stderr")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, FORK_SERVER_FLAG, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=(theirs.fileno(),),
            cwd="/",
        )
        theirs.close()
        control.settimeout(timeout)
        try:
            ready = control.recv(len(FORK_SERVER_READY))
        except TimeoutError:
            process.kill()
            process.wait()
            raise _NoChild(
                f"the validator's fork server did not start within {timeout} s"
            ) from None
        control.settimeout(None)
        if ready != FORK_SERVER_READY:
            returncode = process.wait()
            if returncode == FORK_SERVER_UNSUPPORTED:
                raise _Unsupported()
            raise _NoChild(_no_report(returncode, _read_all(stderr)))
        return _Server(process, control)
    except BaseException:
        control.close()
        theirs.close()
        raise
    finally:
        os.close(stderr)


class _ForkServers:
    """The fork server of this process, started on first use and restarted if it died."""

    def __init__(self) -> None:
        self.unsupported = False
        self._lock = threading.Lock()
        # Keyed by pid too: a forked copy of this process must not share its parent's server.
        self._running: dict[tuple[int, str], _Server] = {}
        atexit.register(self.stop)

    def current(self, timeout: int) -> _Server:
        """This process's server, started now if there is none or it has died."""
        with self._lock:
            key = (os.getpid(), WORKER_MODULE)
            server = self._running.get(key)
            if server is not None and server.process.poll() is None:
                return server
            if server is not None:
                server.stop()
            try:
                server = self._running[key] = _start_server(timeout)
            except _Unsupported:
                self.unsupported = True
                raise
            return server

    def drop(self, server: _Server) -> None:
        """Stop `server` (it died or cannot fork); the next request starts another."""
        with self._lock:
            key = (os.getpid(), WORKER_MODULE)
            if self._running.get(key) is server:
                del self._running[key]
        server.stop()

    def stop(self) -> None:
        with self._lock:
            for (pid, _), server in list(self._running.items()):
                if pid == os.getpid():
                    server.stop()
            self._running.clear()


_SERVERS = _ForkServers()
