"""WasmNodeCache: one node's plugin store, reported by that node's agent and nobody else.

There is one object per node, named after the node and owned by it, so it disappears with the
node. The agent's RBAC lets it write only its own object; the operator reads them all and sums
them into each WasmPlugin's status.staging.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from wasmgate.api.base import ApiModel, Resource, Timestamp
from wasmgate.api.cel import Rule
from wasmgate.api.formats import REASON_PATTERN, Digest, dns_subdomain_rule
from wasmgate.api.listtypes import MapList
from wasmgate.api.resource import AGE, KindInfo, PrinterColumn

MAX_CACHE_ENTRIES = 512

_NAMED_AFTER_NODE = Rule(
    rule="self.spec.nodeName == self.metadata.name",
    message="spec.nodeName must equal metadata.name: a WasmNodeCache is named after its node",
    check=lambda value: value["spec"]["nodeName"] == value.get("metadata", {}).get("name"),
    field_path=".spec.nodeName",
)


class CacheState(StrEnum):
    """Where a digest stands in a node's store."""

    PULLING = "Pulling"
    READY = "Ready"
    FAILED = "Failed"


class CacheEntry(ApiModel):
    """One wasm module the node should hold, by layer digest."""

    digest: Digest = Field(description="Layer digest of the wasm module; its name in the store.")
    state: CacheState = Field(
        description="Pulling (download or verification running), Ready (stored and its hash "
        "verified) or Failed (see reason and lastError; retried with backoff)."
    )
    size: int | None = Field(None, ge=0, description="Size of the stored module, in bytes.")
    verified_at: Timestamp | None = Field(
        None,
        description="When the agent last re-hashed the stored bytes and found the digest "
        "(RFC 3339, UTC).",
    )
    reason: str | None = Field(
        None,
        max_length=1024,
        pattern=REASON_PATTERN,
        description="CamelCase cause of the last failure, e.g. DigestMismatch or "
        "RegistryUnavailable.",
    )
    last_error: str | None = Field(
        None, max_length=1024, description="Message of the last failure."
    )
    held_for: str | None = Field(
        None,
        max_length=1024,
        description="Set while no WasmPlugin may load this module now (for example its "
        "verification cannot reach the registry) but a live WasmScheduler revision names it: "
        "the agent keeps it for that revision and never collects it.",
    )
    last_transition_time: Timestamp = Field(description="When state last changed (RFC 3339, UTC).")


def _state_of(entry: Any) -> Any:
    return entry.state if isinstance(entry, CacheEntry) else entry.get("state")


class WasmNodeCacheSpec(ApiModel):
    """Which node this cache describes."""

    node_name: Annotated[
        str,
        Field(min_length=1, max_length=253, description="Name of the Node; equals metadata.name."),
        dns_subdomain_rule("spec.nodeName", "worker-1"),
    ]


class WasmNodeCacheStatus(ApiModel):
    """What the node's store holds."""

    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation of the spec this status describes."
    )
    entries: Annotated[
        list[CacheEntry], Field(max_length=MAX_CACHE_ENTRIES), MapList(keys=("digest",))
    ] = Field(
        default_factory=list,
        description=f"Modules the node holds or is fetching, one per layer digest; at most "
        f"{MAX_CACHE_ENTRIES}.",
    )
    summary: str | None = Field(
        None,
        max_length=23,
        pattern="^[0-9]+/[0-9]+$",
        description="Ready entries / all entries, e.g. 4/5 (the READY column); derived "
        "from entries when omitted.",
    )
    used_bytes: int = Field(0, ge=0, description="Bytes the store uses on the node's disk.")
    capacity_bytes: int | None = Field(
        None, ge=0, description="Store size cap configured on the agent, in bytes."
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_summary(cls, data: Any) -> Any:
        if isinstance(data, dict) and "summary" not in data:
            entries = data.get("entries", [])
            ready = sum(1 for entry in entries if _state_of(entry) == CacheState.READY)
            return {**data, "summary": f"{ready}/{len(entries)}"}
        return data


class WasmNodeCache(Resource):
    """The wasm plugin store of one node, as its wasmgate agent reports it. Written only by
    that node's agent; the operator aggregates all of them into WasmPlugin status.staging."""

    cel_rules = (_NAMED_AFTER_NODE,)

    kind: Literal["WasmNodeCache"] = Field("WasmNodeCache", description="Always WasmNodeCache.")
    spec: WasmNodeCacheSpec = Field(description="The node this cache belongs to.")
    status: WasmNodeCacheStatus | None = Field(
        None, description="Modules in the node's store and their state."
    )


WASMNODECACHE = KindInfo(
    model=WasmNodeCache,
    plural="wasmnodecaches",
    short_names=("wnc",),
    written_by="the wasmgate agent of each node; read-only for people",
    printer_columns=(
        PrinterColumn(
            name="Node",
            type="string",
            json_path=".spec.nodeName",
            description="Node the store is on.",
        ),
        PrinterColumn(
            name="Ready",
            type="string",
            json_path=".status.summary",
            description="Ready entries / all entries.",
        ),
        PrinterColumn(
            name="Used",
            type="integer",
            json_path=".status.usedBytes",
            description="Bytes the store uses.",
        ),
        AGE,
    ),
    selectable_fields=(".spec.nodeName",),
)
