"""The status condition every wasmgate kind reports, shaped exactly like metav1.Condition.

Tools that understand Kubernetes conditions (`kubectl wait --for=condition=Ready`, dashboards,
kstatus) then read wasmgate objects without special cases. The helpers that set conditions live
in `wasmgate.api.conditions`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from wasmgate.api.base import ApiModel, Timestamp
from wasmgate.api.formats import CONDITION_TYPE_PATTERN, REASON_PATTERN
from wasmgate.api.listtypes import MapList

MAX_MESSAGE_LENGTH = 32768
MAX_REASON_LENGTH = 1024
MAX_CONDITIONS = 16


class ConditionStatus(StrEnum):
    """Whether a condition holds: True, False, or Unknown (not decided yet, or retrying)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """One aspect of the object's state, in Kubernetes condition conventions."""

    type: str = Field(
        min_length=1,
        max_length=316,
        pattern=CONDITION_TYPE_PATTERN,
        description="Condition type in CamelCase, e.g. Verified or Ready.",
    )
    status: ConditionStatus = Field(
        description="True, False or Unknown. False means the step failed for a reason that needs "
        "a change (of the spec, a key, the registry); Unknown means it is still running or "
        "retrying a temporary failure."
    )
    observed_generation: int | None = Field(
        None,
        ge=0,
        description="metadata.generation of the spec this condition was computed for; older "
        "than the object's generation means the condition is stale.",
    )
    last_transition_time: Timestamp = Field(
        description="When status last changed (RFC 3339, UTC); a new reason or message with "
        "the same status keeps the time."
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON_LENGTH,
        pattern=REASON_PATTERN,
        description="Machine-readable CamelCase cause, e.g. SignatureInvalid or "
        "RegistryUnavailable; it is also the label of wasmgate's failure metrics.",
    )
    message: str = Field(
        "",
        max_length=MAX_MESSAGE_LENGTH,
        description="Human-readable detail: what failed, on which field, and how to fix it.",
    )


Conditions = Annotated[
    list[Condition],
    Field(max_length=MAX_CONDITIONS),
    MapList(keys=("type",)),
]
