"""WasmPlugin status.staging: how many nodes hold the verified bytes, and which could not.

The scheduler rolls only once every node that needs the plugin holds it, so this block is what
a plugin stuck in Staging is explained by. The node list grows with the cluster: it is capped,
the counts stay exact.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from wasmgate.api.base import ApiModel
from wasmgate.api.formats import DNS_SUBDOMAIN_PATTERN, MAX_DETAIL_LENGTH, REASON_PATTERN
from wasmgate.api.listtypes import MapList

MAX_FAILING_NODES = 20
MAX_HELD_FOR = 8


def staging_summary(ready: int, desired: int) -> str:
    """The STAGED column: nodes ready / nodes desired."""
    return f"{ready}/{desired}"


class FailingNode(ApiModel):
    """A node that could not stage the plugin."""

    node: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="Node name.",
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_DETAIL_LENGTH,
        pattern=REASON_PATTERN,
        description="CamelCase cause reported by the node's agent, e.g. DigestMismatch or "
        "RegistryUnavailable.",
    )
    message: str = Field(
        "",
        max_length=MAX_DETAIL_LENGTH,
        description="The agent's detail, from the node's WasmNodeCache.",
    )


class StagingStatus(ApiModel):
    """How many nodes hold the verified bytes: the scheduler rolls only when all do."""

    ready: int = Field(0, ge=0, description="Nodes whose store holds the verified layer.")
    desired: int = Field(
        0,
        ge=0,
        description="Nodes that need it: those matching the node selector and tolerations of "
        "any WasmScheduler that loads the plugin.",
    )
    summary: str = Field(
        "0/0",
        max_length=23,
        pattern="^[0-9]+/[0-9]+$",
        description="ready/desired as text, e.g. 3/3 (the STAGED column); derived from ready "
        "and desired when omitted.",
    )
    failing_nodes: Annotated[
        list[FailingNode], Field(max_length=MAX_FAILING_NODES), MapList(keys=("node",))
    ] = Field(
        default_factory=list,
        description=f"Nodes that failed to stage, with the reason; at most {MAX_FAILING_NODES} "
        "are listed.",
    )
    held_for: Annotated[
        list[Annotated[str, Field(max_length=MAX_DETAIL_LENGTH)]],
        Field(max_length=MAX_HELD_FOR),
    ] = Field(
        default_factory=list,
        description="Live WasmScheduler revisions for which the nodes keep this plugin's module "
        "although the plugin may not be loaded now (Verified or Validated is not True for its "
        "current generation, e.g. while the registry is unreachable). The schedulers keep "
        "running it; nothing new is rolled until the plugin passes again.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_summary(cls, data: Any) -> Any:
        if isinstance(data, dict) and "summary" not in data:
            summary = staging_summary(data.get("ready", 0), data.get("desired", 0))
            return {**data, "summary": summary}
        return data
