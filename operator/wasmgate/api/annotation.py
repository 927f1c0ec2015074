"""The base of our `Annotated[...]` markers: validate in Python, declare the same in the schema.

A marker such as a CEL rule or a list type must act twice: as a pydantic validator and as a
keyword in the JSON schema the CRD is generated from. Subclasses say what each side does.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, core_schema


class SchemaAnnotation:
    """Runs `validate` after pydantic's own validation and `extend_schema` on the JSON schema."""

    def validate(self, value: Any) -> Any:
        """Return the value, or raise ValueError with a message naming the fix."""
        raise NotImplementedError

    def extend_schema(self, json_schema: dict[str, Any]) -> None:
        """Add this marker's keywords to the JSON schema of the annotated type."""
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema: dict[str, Any] = handler(schema)
        self.extend_schema(json_schema)
        return json_schema
