"""One validation rule, written once for both the apiserver (CEL) and Python (pydantic).

A `Rule` carries a CEL expression for the CRD's `x-kubernetes-validations`, the message users see,
and a Python predicate with the same meaning on the same JSON value. Used inside `Annotated[...]`
it validates a field; listed in a model's `cel_rules` it validates the whole object. The tests
evaluate every CEL expression with a real CEL interpreter against the Python twin, case by case,
so the two cannot drift apart unnoticed.

Only standard CEL functions are used (no Kubernetes extension libraries): the apiserver accepts
them, and so does the interpreter the tests use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wasmgate.api.annotation import SchemaAnnotation


@dataclass(frozen=True)
class Rule(SchemaAnnotation):
    """A CEL rule and its Python twin; both see the JSON form of the value."""

    rule: str
    message: str
    check: Callable[[Any], bool] = field(compare=False, repr=False)
    # Relative JSON path the apiserver reports the error at, e.g. ".subjectRegExp".
    field_path: str | None = None

    def schema(self) -> dict[str, str]:
        """The entry for `x-kubernetes-validations`."""
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        return entry

    def enforce(self, value: Any) -> None:
        """Raise ValueError with the rule's message when the value breaks the rule."""
        if not self.check(value):
            raise ValueError(self.message)

    def validate(self, value: Any) -> Any:
        self.enforce(value)
        return value

    def extend_schema(self, json_schema: dict[str, Any]) -> None:
        json_schema.setdefault("x-kubernetes-validations", []).append(self.schema())
