"""The validator child: `python -m wasmgate.validate.worker`, started by `sandbox.py`.

It reads a request (see `protocol.py`) from stdin and writes one JSON ValidationReport to
stdout. It caps its own address space, writable memory, CPU time and open files before it reads
the module, so whatever the module does to wasmtime, the damage ends with this process.
"""

from __future__ import annotations

import os
import resource
import sys
from typing import BinaryIO

from wasmgate.validate.pipeline import validate_in_process
from wasmgate.validate.protocol import decode_request, read_header
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


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
    # Skip interpreter teardown: wasmtime's WASI keeps tokio worker threads that can abort the
    # process while Python finalizes, after the report is already written.
    os._exit(0)
