"""The request the caller sends to the validator child: one JSON line, then the module bytes.

Also the few words the caller and the fork server (`worker.py --fork-server`) exchange. Kept
apart from `worker.py` (which loads wasmtime) so that the caller can build requests without
importing the runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import BinaryIO

from wasmgate.validate.settings import ValidationLimits

FORK_SERVER_FLAG = "--fork-server"
FORK_SERVER_READY = b"ready"
FORK_SERVER_RUN = b"run"
# File descriptors that come with each FORK_SERVER_RUN, in this order: the request to read
# (stdin), the report (stdout), diagnostics (stderr), and the status socket back to the caller.
FORK_SERVER_REQUEST_FDS = 4
# Any byte on the status socket asks the child's watcher to kill it; closing it does the same.
KILL_REQUEST = b"k"
# The watcher sends CHILD_STARTED once the child runs, then the child's wait status in decimal
# digits, then closes. A socket closed before CHILD_STARTED means no child ran: safe to retry.
CHILD_STARTED = b"+"
STATUS_BYTES = 32
# The fork server's exit code when this kernel lacks what it needs (pidfd).
FORK_SERVER_UNSUPPORTED = 3


@dataclass(frozen=True)
class ValidationRequest:
    data: bytes
    limits: ValidationLimits
    guest_config: str
    log_severity: int
    digest: str


def encode_request(request: ValidationRequest) -> bytes:
    header = {
        "limits": request.limits.as_dict(),
        "guest_config": request.guest_config,
        "log_severity": request.log_severity,
        "digest": request.digest,
    }
    return json.dumps(header).encode("utf-8") + b"\n" + request.data


def read_header(stream: BinaryIO) -> dict[str, object]:
    header = json.loads(stream.readline())
    if not isinstance(header, dict):
        raise ValueError("the request header must be a JSON object")
    return header


def decode_request(header: dict[str, object], data: bytes) -> ValidationRequest:
    limits = header["limits"]
    guest_config, log_severity, digest = (
        header["guest_config"],
        header["log_severity"],
        header["digest"],
    )
    if not (
        isinstance(limits, dict)
        and isinstance(guest_config, str)
        and isinstance(log_severity, int)
        and isinstance(digest, str)
    ):
        raise ValueError("malformed validation request header")
    return ValidationRequest(
        data=data,
        limits=ValidationLimits.from_dict(limits),
        guest_config=guest_config,
        log_severity=log_severity,
        digest=digest,
    )
