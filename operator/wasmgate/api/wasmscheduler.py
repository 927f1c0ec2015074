"""WasmScheduler: one kube-scheduler Deployment that wasmgate renders, rolls and rolls back.

Its node selector and tolerations say where the scheduler pods run, and so which nodes must hold
every plugin's bytes before a new configuration may roll. The status keeps the revision history
the operator rolls back to when a rollout fails.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, JsonValue, WithJsonSchema

from wasmgate.api.base import ApiModel, Resource, Timestamp
from wasmgate.api.cel import Rule
from wasmgate.api.condition import Conditions
from wasmgate.api.formats import (
    DNS_SUBDOMAIN_PATTERN,
    Digest,
    check_label_map,
    dns_subdomain_rule,
    image_rules,
    label_keys_rule,
)
from wasmgate.api.listtypes import MapList
from wasmgate.api.resource import AGE, KindInfo, PrinterColumn, condition_status_column
from wasmgate.api.toleration import Toleration

DEFAULT_REPLICAS = 1
MAX_REPLICAS = 10
MAX_NODE_SELECTOR_ENTRIES = 32
MAX_TOLERATIONS = 32
MAX_SCHEDULER_PLUGINS = 64
PLUGIN_LIMIT_EXCEEDED = "PluginLimitExceeded"
"""Reason of a refusal (admission) or a condition (status) when plugins exceed that limit."""
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
MIN_PROGRESS_DEADLINE_SECONDS = 30
MAX_PROGRESS_DEADLINE_SECONDS = 3600
DEFAULT_REVISION_HISTORY_LIMIT = 5
MAX_REVISION_HISTORY_LIMIT = 50
MAX_BASE_PROFILE_BYTES = 64 * 1024
BUILTIN_SCHEDULER = "default-scheduler"

_NOT_DEFAULT_SCHEDULER = Rule(
    rule=f"self != '{BUILTIN_SCHEDULER}'",
    message=f"spec.schedulerName must not be {BUILTIN_SCHEDULER}, the cluster's own scheduler; "
    "pick a name of your own, e.g. wasmgate-scheduler",
    check=lambda value: value != BUILTIN_SCHEDULER,
)
_PROFILE_WITHOUT_NAME = Rule(
    rule="!has(self.schedulerName)",
    message="spec.baseProfile.schedulerName is set by wasmgate from spec.schedulerName; "
    "remove it from baseProfile",
    check=lambda value: "schedulerName" not in value,
)


# Free-form, except for the one field the CEL rule reads: CEL can only name declared fields.
_BASE_PROFILE_SCHEMA = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "schedulerName": {
            "type": "string",
            "maxLength": 253,
            "description": "Not allowed here: wasmgate sets it from spec.schedulerName.",
        }
    },
}


def _check_profile_size(profile: dict[str, JsonValue]) -> dict[str, JsonValue]:
    # The apiserver cannot measure a free-form object, so only admission enforces this cap.
    size = len(json.dumps(profile).encode())
    if size > MAX_BASE_PROFILE_BYTES:
        raise ValueError(
            f"spec.baseProfile is about {size} bytes; keep it under {MAX_BASE_PROFILE_BYTES}"
        )
    return profile


class RolloutSettings(ApiModel):
    """How a new scheduler configuration is rolled out and undone."""

    progress_deadline_seconds: int = Field(
        DEFAULT_PROGRESS_DEADLINE_SECONDS,
        ge=MIN_PROGRESS_DEADLINE_SECONDS,
        le=MAX_PROGRESS_DEADLINE_SECONDS,
        description="Seconds the Deployment may take to become available with a new "
        "configuration before the rollout counts as failed.",
    )
    automatic_rollback: bool = Field(
        True,
        description="On a failed rollout, restore the last configuration that worked and mark "
        "the plugin that changed as RolloutFailed. If false, the failed revision stays for "
        "inspection.",
    )
    revision_history_limit: int = Field(
        DEFAULT_REVISION_HISTORY_LIMIT,
        ge=1,
        le=MAX_REVISION_HISTORY_LIMIT,
        description="Old configurations (immutable ConfigMaps) kept to roll back to.",
    )


class WasmSchedulerSpec(ApiModel):
    """The scheduler Deployment: its name for pods, image, size, placement and base profile."""

    scheduler_name: (
        Annotated[
            str,
            Field(min_length=1, max_length=253),
            dns_subdomain_rule("spec.schedulerName", "wasmgate-scheduler"),
            _NOT_DEFAULT_SCHEDULER,
        ]
        | None
    ) = Field(
        None,
        description="Name pods put in spec.schedulerName to be scheduled by this scheduler. "
        "Omit to use the WasmScheduler's own name.",
    )
    image: Annotated[
        str,
        Field(
            min_length=1,
            max_length=512,
            description="kube-scheduler-wasm-extension scheduler image, with a tag or a digest, "
            "e.g. registry.example.com/kube-scheduler-wasm-extension:v0.1.0.",
        ),
        *image_rules("spec.image"),
    ]
    replicas: int = Field(
        DEFAULT_REPLICAS,
        ge=1,
        le=MAX_REPLICAS,
        description="Scheduler pods; more than one runs with leader election.",
    )
    node_selector: Annotated[
        dict[str, Annotated[str, Field(max_length=63)]],
        Field(max_length=MAX_NODE_SELECTOR_ENTRIES),
        label_keys_rule("spec.nodeSelector"),
        AfterValidator(check_label_map),
    ] = Field(
        default_factory=dict,
        description="Labels a node must have to run scheduler pods, e.g. "
        'node-role.kubernetes.io/control-plane: "". These nodes are where every plugin is '
        "staged before a rollout.",
    )
    tolerations: Annotated[list[Toleration], Field(max_length=MAX_TOLERATIONS)] = Field(
        default_factory=list,
        description="Taints the scheduler pods tolerate, as in a Pod spec.",
    )
    base_profile: Annotated[
        dict[str, JsonValue],
        WithJsonSchema(_BASE_PROFILE_SCHEMA),
        _PROFILE_WITHOUT_NAME,
        AfterValidator(_check_profile_size),
    ] = Field(
        default_factory=dict,
        description="Extra KubeSchedulerConfiguration profile content (kubescheduler.config."
        "k8s.io/v1 KubeSchedulerProfile, without schedulerName) merged under the wasm plugins, "
        "e.g. plugins.score.disabled or percentageOfNodesToScore. At most 64 KiB.",
    )
    rollout: RolloutSettings = Field(
        default_factory=RolloutSettings,
        description="Deadline, rollback and history of configuration rollouts.",
    )


class RevisionOutcome(StrEnum):
    """What became of a configuration revision."""

    PROGRESSING = "Progressing"
    ACTIVE = "Active"
    SUPERSEDED = "Superseded"
    FAILED = "Failed"


class SchedulerPlugin(ApiModel):
    """A plugin in a scheduler configuration, pinned to its digest."""

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="WasmPlugin name, which is also the plugin name in the profile.",
    )
    digest: Digest = Field(description="Manifest digest of the plugin.")
    layer_digest: Digest = Field(
        description="Digest of the wasm module the scheduler loads from the node store."
    )


SchedulerPlugins = Annotated[
    list[SchedulerPlugin], Field(max_length=MAX_SCHEDULER_PLUGINS), MapList(keys=("name",))
]


class SchedulerRevision(ApiModel):
    """One rendered configuration, kept so a failed rollout can return to it."""

    revision: int = Field(ge=1, description="Revision number, counting up from 1.")
    config_map_name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="Immutable ConfigMap holding the configuration, named by its content hash.",
    )
    plugins: SchedulerPlugins = Field(
        default_factory=list, description="Plugins the configuration loads."
    )
    created_at: Timestamp = Field(description="When the revision was rendered (RFC 3339, UTC).")
    outcome: RevisionOutcome = Field(
        description="Progressing (rolling out now), Active (what the scheduler runs), "
        "Superseded (replaced by a newer revision) or Failed (rolled back)."
    )
    message: str = Field(
        "",
        max_length=1024,
        description="Why a revision failed, naming the plugin that changed.",
    )


class WasmSchedulerStatus(ApiModel):
    """The configuration the scheduler runs, its history, and the Deployment's health."""

    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation of the spec this status describes."
    )
    active_revision: int | None = Field(
        None, ge=1, description="Revision the scheduler runs, from revisions."
    )
    config_map_name: str | None = Field(
        None,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="ConfigMap of the active revision.",
    )
    plugins: SchedulerPlugins = Field(
        default_factory=list, description="Plugins the active revision loads, with digests."
    )
    ready_replicas: int = Field(0, ge=0, description="Scheduler pods that are ready.")
    revisions: Annotated[
        list[SchedulerRevision],
        Field(max_length=MAX_REVISION_HISTORY_LIMIT + 1),
        MapList(keys=("revision",)),
    ] = Field(
        default_factory=list,
        description="Recent revisions, newest last; spec.rollout.revisionHistoryLimit old ones "
        "are kept besides the active one.",
    )
    conditions: Conditions = Field(
        default_factory=list,
        description="ConfigRendered, RolledOut, Available and Ready, in Kubernetes condition "
        "conventions.",
    )


class WasmScheduler(Resource):
    """A kube-scheduler with the wasm extension, run by wasmgate as a Deployment. wasmgate
    renders its configuration from the Ready WasmPlugins that name it, rolls the Deployment
    when every scheduler node holds the plugins, and rolls back when the new configuration
    does not come up."""

    kind: Literal["WasmScheduler"] = Field("WasmScheduler", description="Always WasmScheduler.")
    spec: WasmSchedulerSpec = Field(description="The scheduler Deployment wasmgate runs.")
    status: WasmSchedulerStatus | None = Field(
        None, description="Active configuration, history and health."
    )


WASMSCHEDULER = KindInfo(
    model=WasmScheduler,
    plural="wasmschedulers",
    short_names=("ws",),
    written_by="cluster operators",
    printer_columns=(
        PrinterColumn(
            name="Scheduler",
            type="string",
            json_path=".spec.schedulerName",
            description="Name pods use in spec.schedulerName (empty: the object's name).",
        ),
        PrinterColumn(
            name="Revision",
            type="integer",
            json_path=".status.activeRevision",
            description="Configuration revision the scheduler runs.",
        ),
        PrinterColumn(
            name="Ready",
            type="integer",
            json_path=".status.readyReplicas",
            description="Scheduler pods that are ready.",
        ),
        condition_status_column(
            "RolledOut", "Rolled-Out", "Whether the newest configuration is the one running."
        ),
        AGE,
        PrinterColumn(
            name="Image",
            type="string",
            json_path=".spec.image",
            description="Scheduler image.",
            priority=1,
        ),
    ),
)
