"""The shared base of every wasmgate API model: JSON naming, strictness, timestamps, the group.

Kubernetes JSON is camelCase and Python is snake_case, so every model aliases its fields to
camelCase, accepts either name when parsing and dumps camelCase. Unknown fields are refused: the
CRDs are generated from these models, so the apiserver prunes whatever they do not declare, and a
typo in an example, a test or a webhook request must fail loudly instead of vanishing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, model_validator
from pydantic.alias_generators import to_camel

from wasmgate.api.cel import Rule

GROUP = "wasmgate.dev"
VERSION = "v1alpha1"
API_VERSION: Literal["wasmgate.dev/v1alpha1"] = "wasmgate.dev/v1alpha1"


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime the way Kubernetes writes metav1.Time: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[AwareDatetime, PlainSerializer(rfc3339, return_type=str)]


class ApiModel(BaseModel):
    """Base of every model: camelCase JSON, no unknown fields, immutable values.

    `cel_rules` are the object-level CEL rules of the model: the CRD carries them as
    `x-kubernetes-validations` and the model enforces the same check in Python on its JSON form,
    so the admission webhook and the apiserver refuse the same objects with the same message.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    cel_rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _enforce_cel_rules(self) -> Self:
        if self.cel_rules:
            data = self.to_json()
            for rule in self.cel_rules:
                rule.enforce(data)
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        target: dict[str, Any] = handler.resolve_ref_schema(schema)
        if cls.cel_rules:
            existing = target.setdefault("x-kubernetes-validations", [])
            existing.extend(rule.schema() for rule in cls.cel_rules)
        return schema

    def to_json(self) -> dict[str, Any]:
        """The object as the apiserver stores it: camelCase keys, no nulls."""
        return self.model_dump(mode="json", exclude_none=True)


class ObjectMeta(ApiModel):
    """The parts of Kubernetes object metadata wasmgate reads; the rest is kept as is."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(None, max_length=253, description="Object name.")
    generation: int | None = Field(None, ge=0, description="Spec generation, set by the server.")
    uid: str | None = Field(None, max_length=64, description="Server-assigned unique id.")
    resource_version: str | None = Field(None, description="Opaque version for updates.")
    labels: dict[str, str] = Field(default_factory=dict, description="Object labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Object annotations.")


class Resource(ApiModel):
    """Fields every wasmgate kind shares: apiVersion and metadata."""

    api_version: Literal["wasmgate.dev/v1alpha1"] = Field(
        API_VERSION, description="Always wasmgate.dev/v1alpha1."
    )
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
