"""The guest ABI of kube-scheduler-wasm-extension, as data.

Facts checked against upstream `scheduler/plugin/guest.go` (export names, `detectInterfaces`
signatures, result packing) and `scheduler/plugin/host.go` (host module and function names,
parameter and result types). The validator refuses exactly what those files make the scheduler
refuse, plus the stricter rules noted where they apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

I32 = "i32"
I64 = "i64"


@dataclass(frozen=True)
class Signature:
    """A wasm function type written with value-type names ("i32", "i64", ...)."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"


def _sig(params: int | tuple[str, ...], results: tuple[str, ...] = ()) -> Signature:
    """Shorthand: an int means that many i32 parameters."""
    return Signature((I32,) * params if isinstance(params, int) else params, results)


class ResultKind(Enum):
    """How the scheduler reads an extension point's return value."""

    NONE = "none"
    STATUS = "status"  # i32 status code
    SCORE = "score"  # i64: score << 32 | status code
    POSTFILTER = "postfilter"  # i64: nominating mode << 32 | status code
    PERMIT = "permit"  # i64: status code << 32 | timeout in milliseconds


@dataclass(frozen=True)
class ExtensionPoint:
    """One guest export the scheduler calls."""

    name: str
    result: ResultKind
    per_node: bool
    counts_as_plugin: bool = True

    @property
    def signature(self) -> Signature:
        results = {ResultKind.NONE: (), ResultKind.STATUS: (I32,)}.get(self.result, (I64,))
        return Signature((), results)


# In scheduling-cycle order; the dry run calls them in this order.
# Upstream's detectInterfaces ignores `addpod`/`removepod`: exporting only those is "no plugin
# functions", and upstream never checks their signature. We check it anyway (stricter), because a
# later scheduler that calls them would call them as () -> (i32).
EXTENSION_POINTS: tuple[ExtensionPoint, ...] = (
    ExtensionPoint("enqueue", ResultKind.NONE, per_node=False),
    ExtensionPoint("prefilter", ResultKind.STATUS, per_node=False),
    ExtensionPoint("addpod", ResultKind.STATUS, per_node=False, counts_as_plugin=False),
    ExtensionPoint("removepod", ResultKind.STATUS, per_node=False, counts_as_plugin=False),
    ExtensionPoint("filter", ResultKind.STATUS, per_node=True),
    ExtensionPoint("postfilter", ResultKind.POSTFILTER, per_node=False),
    ExtensionPoint("prescore", ResultKind.STATUS, per_node=False),
    ExtensionPoint("score", ResultKind.SCORE, per_node=True),
    ExtensionPoint("normalizescore", ResultKind.STATUS, per_node=False),
    ExtensionPoint("reserve", ResultKind.STATUS, per_node=False),
    ExtensionPoint("permit", ResultKind.PERMIT, per_node=False),
    ExtensionPoint("prebind", ResultKind.STATUS, per_node=False),
    ExtensionPoint("bind", ResultKind.STATUS, per_node=False),
    ExtensionPoint("postbind", ResultKind.NONE, per_node=False),
    ExtensionPoint("unreserve", ResultKind.NONE, per_node=False),
)
EXTENSION_POINTS_BY_NAME = {point.name: point for point in EXTENSION_POINTS}

# Upstream mask.go: after setting aside the points that ride along with another (enqueue,
# prefilter, postfilter, prescore, normalizescore, prebind, postbind, addpod, removepod), the
# "main" points a guest exports must form one of these combinations ("reserve" stands for reserve
# and/or unreserve); otherwise the scheduler refuses the plugin with "filter, score, reserve,
# permit or bind must be exported". The one exception is a guest that exports prefilter and
# nothing else of the above.
MAIN_GROUPS = {
    "filter": "filter",
    "score": "score",
    "reserve": "reserve",
    "unreserve": "reserve",
    "permit": "permit",
    "bind": "bind",
}
SUPPORTED_MAIN_COMBINATIONS: frozenset[frozenset[str]] = frozenset(
    frozenset(combination.split("+"))
    for combination in (
        "filter",
        "score",
        "reserve",
        "permit",
        "bind",
        "filter+score",
        "filter+reserve",
        "filter+permit",
        "filter+bind",
        "score+reserve",
        "score+permit",
        "score+bind",
        "reserve+bind",
        "permit+bind",
        "filter+score+bind",
        "filter+score+reserve",
        "filter+score+permit",
        "score+reserve+bind",
        "score+permit+bind",
        "reserve+permit+bind",
        "filter+score+bind+reserve",
        "filter+score+bind+permit",
        "filter+score+reserve+permit+bind",
    )
)
PREFILTER_ONLY = "prefilter"

# Upstream mask.go hands the framework a plugin that implements only the interfaces of the guest's
# main groups (plus EnqueueExtensions and PreFilterPlugin, always). An exported point outside
# them is never called. Within a group, plugin.go calls reserve/unreserve and addpod/removepod
# as pairs: exporting one of a pair means upstream calls the other too (a nil function: panic).
_GROUP_POINTS = {
    "filter": ("filter", "postfilter"),
    "score": ("prescore", "score", "normalizescore"),
    "reserve": ("reserve", "unreserve"),
    "permit": ("permit",),
    "bind": ("prebind", "bind", "postbind"),
}
_ALWAYS_REACHABLE = ("enqueue", "prefilter", "addpod", "removepod")
CALLED_IN_PAIRS = (("reserve", "unreserve"), ("addpod", "removepod"))
# Points that upstream runs on its scheduling guest (guestPool.doWithSchedulingGuest); the
# binding cycle (prebind, bind) takes over that guest and panics "unexpected podUID" without one.
SCHEDULING_GUEST_POINTS = frozenset(
    {
        "prefilter",
        "addpod",
        "removepod",
        "filter",
        "postfilter",
        "prescore",
        "score",
        "normalizescore",
        "reserve",
        "unreserve",
        "permit",
    }
)
BINDING_GUEST_POINTS = frozenset(("prebind", "bind"))


def reachable_points(exported: set[str]) -> tuple[list[str], list[str]]:
    """(points upstream calls, in cycle order; exported points it never calls).

    The first list may name a point the guest does not export: the missing half of a pair.
    """
    groups = {MAIN_GROUPS[p] for p in exported if p in MAIN_GROUPS}
    candidates = set(_ALWAYS_REACHABLE)
    for group in groups:
        candidates.update(_GROUP_POINTS[group])
    called = {p for p in candidates if p in exported}
    for pair in CALLED_IN_PAIRS:
        if called & set(pair):
            called.update(pair)
    ordered = [p.name for p in EXTENSION_POINTS if p.name in called]
    never = [p.name for p in EXTENSION_POINTS if p.name in exported and p.name not in candidates]
    return ordered, never


MEMORY_EXPORT = "memory"
START_EXPORT = "_start"
START_SIGNATURE = Signature((), ())

# The scheduler framework's status codes (k8s.io/kubernetes/pkg/scheduler/framework).
STATUS_NAMES: dict[int, str] = {
    0: "Success",
    1: "Error",
    2: "Unschedulable",
    3: "UnschedulableAndUnresolvable",
    4: "Wait",
    5: "Skip",
    6: "Pending",
}
STATUS_SUCCESS = 0
STATUS_ERROR = 1
MIN_NODE_SCORE = 0
MAX_NODE_SCORE = 100

K8S_API = "k8s.io/api"
K8S_KLOG = "k8s.io/klog"
K8S_SCHEDULER = "k8s.io/scheduler"
WASI_P1 = "wasi_snapshot_preview1"
ALLOWED_IMPORT_MODULES = (K8S_API, K8S_KLOG, K8S_SCHEDULER, WASI_P1)

# Host functions as upstream host.go builds its host modules. `handle.get_waiting_pod` is missing
# from the host.go revision we could read, but upstream's guest SDK (guest/handle/imports.go)
# imports it as (i32, i32, i32, i32) -> (), so the host that ships with that SDK provides it.
HOST_FUNCTIONS: dict[str, dict[str, Signature]] = {
    K8S_API: {
        "node": _sig(4, (I32,)),
        "nodeList": _sig(2, (I32,)),
    },
    K8S_KLOG: {
        "log": _sig(3),
        "logs": _sig(5),
        "severity": _sig(0, (I32,)),
    },
    K8S_SCHEDULER: {
        "get_config": _sig(2, (I32,)),
        "filteredNodeList": _sig(2, (I32,)),
        "targetPod": _sig(2, (I32,)),
        "currentNodeName": _sig(2, (I32,)),
        "nodeImageStates": _sig(4, (I32,)),
        "currentPod": _sig(2, (I32,)),
        "nodeToStatusMap": _sig(2, (I32,)),
        "nodeScoreList": _sig(2, (I32,)),
        "result.cluster_events": _sig(2),
        "result.node_names": _sig(2),
        "result.nominated_node_name": _sig(2),
        "result.status_reason": _sig(2),
        "result.normalized_score_list": _sig(2),
        "handle.eventrecorder.eventf": _sig(2),
        "handle.reject_waiting_pod": _sig(4),
        "handle.get_waiting_pod": _sig(4),
    },
}

# WASI preview1 as specified in wasi_snapshot_preview1.witx; every function returns an errno
# except proc_exit. wazero (the scheduler's runtime) and wasmtime both provide all of them.
_E = (I32,)
WASI_FUNCTIONS: dict[str, Signature] = {
    "args_get": _sig(2, _E),
    "args_sizes_get": _sig(2, _E),
    "environ_get": _sig(2, _E),
    "environ_sizes_get": _sig(2, _E),
    "clock_res_get": _sig(2, _E),
    "clock_time_get": _sig((I32, I64, I32), _E),
    "fd_advise": _sig((I32, I64, I64, I32), _E),
    "fd_allocate": _sig((I32, I64, I64), _E),
    "fd_close": _sig(1, _E),
    "fd_datasync": _sig(1, _E),
    "fd_fdstat_get": _sig(2, _E),
    "fd_fdstat_set_flags": _sig(2, _E),
    "fd_fdstat_set_rights": _sig((I32, I64, I64), _E),
    "fd_filestat_get": _sig(2, _E),
    "fd_filestat_set_size": _sig((I32, I64), _E),
    "fd_filestat_set_times": _sig((I32, I64, I64, I32), _E),
    "fd_pread": _sig((I32, I32, I32, I64, I32), _E),
    "fd_prestat_get": _sig(2, _E),
    "fd_prestat_dir_name": _sig(3, _E),
    "fd_pwrite": _sig((I32, I32, I32, I64, I32), _E),
    "fd_read": _sig(4, _E),
    "fd_readdir": _sig((I32, I32, I32, I64, I32), _E),
    "fd_renumber": _sig(2, _E),
    "fd_seek": _sig((I32, I64, I32, I32), _E),
    "fd_sync": _sig(1, _E),
    "fd_tell": _sig(2, _E),
    "fd_write": _sig(4, _E),
    "path_create_directory": _sig(3, _E),
    "path_filestat_get": _sig(5, _E),
    "path_filestat_set_times": _sig((I32, I32, I32, I32, I64, I64, I32), _E),
    "path_link": _sig(7, _E),
    "path_open": _sig((I32, I32, I32, I32, I32, I64, I64, I32, I32), _E),
    "path_readlink": _sig(6, _E),
    "path_remove_directory": _sig(3, _E),
    "path_rename": _sig(6, _E),
    "path_symlink": _sig(5, _E),
    "path_unlink_file": _sig(3, _E),
    "poll_oneoff": _sig(4, _E),
    "proc_exit": _sig(1),
    "proc_raise": _sig(1, _E),
    "sched_yield": _sig(0, _E),
    "random_get": _sig(2, _E),
    "sock_accept": _sig(3, _E),
    "sock_recv": _sig(6, _E),
    "sock_send": _sig(5, _E),
    "sock_shutdown": _sig(2, _E),
}


def expected_import(module: str, name: str) -> Signature | None:
    """The signature the scheduler provides for an import, or None when it provides none."""
    if module == WASI_P1:
        return WASI_FUNCTIONS.get(name)
    return HOST_FUNCTIONS.get(module, {}).get(name)


def status_name(code: int) -> str:
    return STATUS_NAMES.get(code, f"Unknown({code})")
