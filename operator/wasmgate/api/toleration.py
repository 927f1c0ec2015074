"""A Pod toleration, as the scheduler Deployment wasmgate renders will carry it.

Declared here rather than taken from the Kubernetes client so the CRD schema, the descriptions and
the checks are ours and stay structural.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from wasmgate.api.base import ApiModel
from wasmgate.api.cel import Rule


class TolerationOperator(StrEnum):
    """How a toleration compares its value with the taint's."""

    EXISTS = "Exists"
    EQUAL = "Equal"


class TaintEffect(StrEnum):
    """The taint effect a toleration matches."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


_EXISTS_HAS_NO_VALUE = Rule(
    rule="self.operator != 'Exists' || !has(self.value) || self.value == ''",
    message="a toleration with operator Exists matches any value; remove value",
    check=lambda value: value.get("operator") != "Exists" or not value.get("value"),
    field_path=".value",
)
_EMPTY_KEY_NEEDS_EXISTS = Rule(
    rule="has(self.key) || self.operator == 'Exists'",
    message="a toleration without key must use operator Exists (it then tolerates every taint)",
    check=lambda value: "key" in value or value.get("operator") == "Exists",
    field_path=".operator",
)


class Toleration(ApiModel):
    """Lets the scheduler pods run on nodes with a matching taint."""

    cel_rules = (_EXISTS_HAS_NO_VALUE, _EMPTY_KEY_NEEDS_EXISTS)

    key: str | None = Field(
        None,
        min_length=1,
        max_length=317,
        description="Taint key to match, e.g. node-role.kubernetes.io/control-plane. Omit "
        "(with operator Exists) to match every taint.",
    )
    operator: TolerationOperator = Field(
        TolerationOperator.EQUAL,
        description="Equal: the taint's value must equal value. Exists: any value matches.",
    )
    value: str | None = Field(
        None, max_length=63, description="Taint value to match with operator Equal."
    )
    effect: TaintEffect | None = Field(
        None,
        description="Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute. Omit "
        "to match every effect.",
    )
    toleration_seconds: int | None = Field(
        None,
        ge=0,
        le=31_536_000,
        description="For NoExecute taints: seconds the pod stays bound after the taint "
        "appears. Omit to stay forever.",
    )
