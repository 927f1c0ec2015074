"""Host functions of the dry run: the scheduler's `k8s.io/*` modules over a synthetic snapshot.

Behaviour follows upstream `scheduler/plugin/host.go`: getters write into the guest's buffer only
when the value fits in `limit` and always return the length needed (the guest retries with a
bigger buffer); nodes and pods are protobuf, node lists of the scheduler module are JSON; result
setters read (ptr, len) from guest memory. Where upstream panics (a pointer outside memory,
unparsable JSON) the scheduler's call fails or the scheduler crashes, so here the call fails with
`HostCallRejected`, which the dry run reports as a failed call.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from wasmgate.validate import abi
from wasmgate.validate.kube_protobuf import encode_node, encode_node_list, encode_pod
from wasmgate.validate.snapshot import ClusterSnapshot, SyntheticPod

MAX_OUTPUT_LINES = 100
MAX_LINE_CHARS = 500
KLOG_SEVERITIES = {0: "INFO", 1: "WARNING", 2: "ERROR", 3: "FATAL"}
_U32 = 0xFFFFFFFF
_VALUE_TYPES = {abi.I32: wasmtime.ValType.i32, abi.I64: wasmtime.ValType.i64}


class HostCallRejected(Exception):
    """A guest called a host function in a way the real scheduler would fail or panic on."""


class GuestOutput:
    """Bounded capture of what the guest logs or prints."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(self.lines) >= MAX_OUTPUT_LINES:
            self.dropped += 1
            return
        text = line.rstrip("\n")
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "..."
        self.lines.append(text)

    def stream(self, prefix: str) -> Callable[[bytes], None]:
        """A WASI output callback that records each write as lines with `prefix`."""

        def write(data: bytes) -> None:
            for line in data.decode("utf-8", "replace").splitlines():
                self.add(f"{prefix}{line}")

        return write

    def finish(self) -> list[str]:
        if self.dropped:
            return [*self.lines, f"... {self.dropped} more lines dropped"]
        return list(self.lines)


@dataclass
class CallState:
    """Inputs and outputs of one guest call (upstream's per-call `stack`)."""

    current_pod: SyntheticPod | None = None
    target_pod: SyntheticPod | None = None
    current_node: str = ""
    filtered_nodes: list[str] = field(default_factory=list)
    node_to_status: dict[str, int] = field(default_factory=dict)
    node_scores: dict[str, int] = field(default_factory=dict)
    status_reason: str | None = None
    node_names: list[str] | None = None
    nominated_node_name: str | None = None
    normalized_scores: dict[str, int] | None = None
    cluster_events: bytes | None = None


class GuestMemory:
    """Bounds-checked access to the guest's exported memory from inside host calls.

    The Memory handle is looked up once per instance, and bytes move with one ctypes copy:
    wasmtime-py's `Memory.read`/`write` build intermediate buffers on every call, which
    dominated the host-call overhead.
    """

    def __init__(self) -> None:
        self._memory: wasmtime.Memory | None = None

    def _base(self, caller: wasmtime.Caller) -> tuple[int, int]:
        if self._memory is None:
            memory = caller.get(abi.MEMORY_EXPORT)
            if not isinstance(memory, wasmtime.Memory):
                raise HostCallRejected('the guest has no "memory" export')
            self._memory = memory
        size = self._memory.data_len(caller)
        return ctypes.addressof(self._memory.data_ptr(caller).contents), size

    def read(self, caller: wasmtime.Caller, ptr: int, length: int, what: str) -> bytes:
        ptr, length = ptr & _U32, length & _U32
        base, size = self._base(caller)
        if ptr + length > size:
            raise HostCallRejected(
                f"{what}: the guest passed bytes [{ptr}, {ptr + length}) outside its "
                f"{size}-byte memory"
            )
        return ctypes.string_at(base + ptr, length)

    def write_if_under_limit(
        self, caller: wasmtime.Caller, value: bytes, buf: int, limit: int
    ) -> int:
        """Upstream's buf/limit protocol: write only when it fits, always return the size needed."""
        buf, limit = buf & _U32, limit & _U32
        if len(value) > limit or not value:
            return len(value)
        base, size = self._base(caller)
        if buf + len(value) > size:
            raise HostCallRejected(
                f"the guest's buffer [{buf}, {buf + len(value)}) is outside its {size}-byte memory"
            )
        ctypes.memmove(base + buf, value, len(value))
        return len(value)


def _nul_terminated(raw: bytes) -> list[str]:
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _json_scores(raw: bytes, what: str) -> dict[str, int]:
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise HostCallRejected(f"{what}: not JSON ({e}); the scheduler panics on this") from e
    if value is None:
        # Go's json.Unmarshal of null into a map leaves it empty: the guest set no list.
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and _fits_go_int(v)
        for k, v in value.items()
    ):
        raise HostCallRejected(
            f"{what}: expected null or a JSON object of node name to integer score; upstream "
            "decodes it into map[string]int and panics otherwise"
        )
    return value


def _fits_go_int(value: int) -> bool:
    return -(2**63) <= value < 2**63


class HostEnvironment:
    """The three `k8s.io/*` host modules, bound to one snapshot and one guest config."""

    def __init__(
        self,
        snapshot: ClusterSnapshot,
        guest_config: str,
        log_severity: int,
        output: GuestOutput,
    ) -> None:
        self.snapshot = snapshot
        self.guest_config = guest_config.encode("utf-8")
        self.log_severity = log_severity
        self.output = output
        self.call = CallState()
        self._node_bytes = {n.name: encode_node(n) for n in snapshot.nodes}
        self._node_list_bytes = encode_node_list(snapshot.nodes)
        self._pod_bytes = {p.key: encode_pod(p) for p in (snapshot.pod, snapshot.running_pod)}
        self.events: list[dict[str, Any]] = []
        self.memory = GuestMemory()

    def _pod(self, pod: SyntheticPod | None) -> bytes:
        return b"" if pod is None else self._pod_bytes[pod.key]

    # k8s.io/api

    def node(self, caller: wasmtime.Caller, name: int, name_len: int, buf: int, limit: int) -> int:
        node_name = self.memory.read(caller, name, name_len, "k8s.io/api.node name")
        value = self._node_bytes.get(node_name.decode("utf-8", "replace"), b"")
        return self.memory.write_if_under_limit(caller, value, buf, limit)

    def node_list(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        return self.memory.write_if_under_limit(caller, self._node_list_bytes, buf, limit)

    # k8s.io/klog

    def log(self, caller: wasmtime.Caller, severity: int, msg: int, msg_len: int) -> None:
        try:
            text = self.memory.read(caller, msg, msg_len, "klog").decode("utf-8", "replace")
        except HostCallRejected:
            return  # upstream ignores unreadable log messages
        self.output.add(f"klog[{KLOG_SEVERITIES.get(severity, severity)}] {text}")

    def logs(
        self, caller: wasmtime.Caller, severity: int, msg: int, msg_len: int, kvs: int, kvs_len: int
    ) -> None:
        try:
            text = self.memory.read(caller, msg, msg_len, "klog").decode("utf-8", "replace")
            pairs = _nul_terminated(self.memory.read(caller, kvs, kvs_len, "klog kvs"))
        except HostCallRejected:
            return
        rendered = " ".join(f"{k}={v!r}" for k, v in zip(pairs[::2], pairs[1::2], strict=False))
        self.output.add(f"klog[{KLOG_SEVERITIES.get(severity, severity)}] {text} {rendered}")

    def severity(self) -> int:
        return self.log_severity

    # k8s.io/scheduler getters

    def get_config(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        return self.memory.write_if_under_limit(caller, self.guest_config, buf, limit)

    def filtered_node_list(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        value = json.dumps(self.call.filtered_nodes, separators=(",", ":")).encode()
        return self.memory.write_if_under_limit(caller, value, buf, limit)

    def target_pod(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        return self.memory.write_if_under_limit(caller, self._pod(self.call.target_pod), buf, limit)

    def current_pod(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        return self.memory.write_if_under_limit(
            caller, self._pod(self.call.current_pod), buf, limit
        )

    def current_node_name(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        return self.memory.write_if_under_limit(caller, self.call.current_node.encode(), buf, limit)

    def node_image_states(
        self, caller: wasmtime.Caller, name: int, name_len: int, buf: int, limit: int
    ) -> int:
        node_name = self.memory.read(caller, name, name_len, "nodeImageStates name").decode(
            "utf-8", "replace"
        )
        node = self.snapshot.node(node_name)
        states: dict[str, dict[str, int]] | None = None
        if node is not None:
            holders = len(self.snapshot.nodes)
            states = {img: {"Size": size, "NumNodes": holders} for img, size in node.images.items()}
        value = json.dumps(states, separators=(",", ":")).encode()
        return self.memory.write_if_under_limit(caller, value, buf, limit)

    def node_to_status_map(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        value = json.dumps(self.call.node_to_status, separators=(",", ":")).encode()
        return self.memory.write_if_under_limit(caller, value, buf, limit)

    def node_score_list(self, caller: wasmtime.Caller, buf: int, limit: int) -> int:
        value = json.dumps(self.call.node_scores, separators=(",", ":")).encode()
        return self.memory.write_if_under_limit(caller, value, buf, limit)

    # k8s.io/scheduler result setters and handle

    def result_cluster_events(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        self.call.cluster_events = self.memory.read(caller, buf, length, "result.cluster_events")

    def result_node_names(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        raw = self.memory.read(caller, buf, length, "result.node_names")
        self.call.node_names = _nul_terminated(raw)

    def result_nominated_node_name(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        raw = self.memory.read(caller, buf, length, "result.nominated_node_name")
        self.call.nominated_node_name = raw.decode("utf-8", "replace")

    def result_status_reason(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        try:
            raw = self.memory.read(caller, buf, length, "result.status_reason")
            self.call.status_reason = raw.decode("utf-8", "replace")
        except HostCallRejected:
            # Upstream does not panic here; it records this reason instead.
            self.call.status_reason = "BUG: out of memory reading message"

    def result_normalized_score_list(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        what = "result.normalized_score_list"
        self.call.normalized_scores = _json_scores(
            self.memory.read(caller, buf, length, what), what
        )

    def eventf(self, caller: wasmtime.Caller, buf: int, length: int) -> None:
        what = "handle.eventrecorder.eventf"
        raw = self.memory.read(caller, buf, length, what)
        try:
            event = json.loads(raw)
        except ValueError as e:
            raise HostCallRejected(f"{what}: not JSON ({e}); the scheduler panics on this") from e
        if not isinstance(event, dict):
            raise HostCallRejected(f"{what}: expected a JSON object (EventMessage)")
        self.events.append(event)
        self.output.add(f"event {event.get('Reason', '')}: {event.get('Note', '')}")

    def reject_waiting_pod(
        self, caller: wasmtime.Caller, uid: int, uid_len: int, out: int, out_limit: int
    ) -> None:
        self.memory.read(caller, uid, uid_len, "handle.reject_waiting_pod uid")
        # No pod is waiting in the dry run: answer "not rejected" (a zero uint64).
        self.memory.write_if_under_limit(caller, bytes(8), out, out_limit)

    def get_waiting_pod(
        self, caller: wasmtime.Caller, uid: int, uid_len: int, out: int, out_limit: int
    ) -> None:
        self.memory.read(caller, uid, uid_len, "handle.get_waiting_pod uid")
        # No pod is waiting in the dry run: nothing is written, as for an unknown uid.

    def bindings(self) -> dict[tuple[str, str], Callable[..., Any]]:
        return {
            (abi.K8S_API, "node"): self.node,
            (abi.K8S_API, "nodeList"): self.node_list,
            (abi.K8S_KLOG, "log"): self.log,
            (abi.K8S_KLOG, "logs"): self.logs,
            (abi.K8S_KLOG, "severity"): self.severity,
            (abi.K8S_SCHEDULER, "get_config"): self.get_config,
            (abi.K8S_SCHEDULER, "filteredNodeList"): self.filtered_node_list,
            (abi.K8S_SCHEDULER, "targetPod"): self.target_pod,
            (abi.K8S_SCHEDULER, "currentNodeName"): self.current_node_name,
            (abi.K8S_SCHEDULER, "nodeImageStates"): self.node_image_states,
            (abi.K8S_SCHEDULER, "currentPod"): self.current_pod,
            (abi.K8S_SCHEDULER, "nodeToStatusMap"): self.node_to_status_map,
            (abi.K8S_SCHEDULER, "nodeScoreList"): self.node_score_list,
            (abi.K8S_SCHEDULER, "result.cluster_events"): self.result_cluster_events,
            (abi.K8S_SCHEDULER, "result.node_names"): self.result_node_names,
            (abi.K8S_SCHEDULER, "result.nominated_node_name"): self.result_nominated_node_name,
            (abi.K8S_SCHEDULER, "result.status_reason"): self.result_status_reason,
            (abi.K8S_SCHEDULER, "result.normalized_score_list"): self.result_normalized_score_list,
            (abi.K8S_SCHEDULER, "handle.eventrecorder.eventf"): self.eventf,
            (abi.K8S_SCHEDULER, "handle.reject_waiting_pod"): self.reject_waiting_pod,
            (abi.K8S_SCHEDULER, "handle.get_waiting_pod"): self.get_waiting_pod,
        }

    def define(self, linker: wasmtime.Linker) -> None:
        """Define every host function upstream defines, with upstream's exact types."""
        bindings = self.bindings()
        for module, functions in abi.HOST_FUNCTIONS.items():
            for name, signature in functions.items():
                func_type = wasmtime.FuncType(
                    [_VALUE_TYPES[t]() for t in signature.params],
                    [_VALUE_TYPES[t]() for t in signature.results],
                )
                target = bindings[(module, name)]
                # severity() is the only host function that never touches guest memory.
                needs_caller = name != "severity"
                linker.define_func(module, name, func_type, target, access_caller=needs_caller)
