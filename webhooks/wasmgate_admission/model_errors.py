"""Turn a pydantic ValidationError from the API models into admission sentences.

The apiserver has already applied the CRD schema, so these fire only when the stored CRD is older
than the operator's models, or for the checks the CRD cannot express (RE2 vs Python regexps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wasmgate_admission.decision import Findings

ModelT = TypeVar("ModelT", bound=BaseModel)


def describe(error: ValidationError) -> list[str]:
    """One sentence per error: the JSON path of the field, then pydantic's message."""
    sentences = []
    for item in error.errors(include_url=False):
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = str(item["msg"]).removeprefix("Value error, ")
        sentences.append(f"{path}: {message}" if path else message)
    return sentences


def parse_object(
    model: type[ModelT], request: Mapping[str, Any], findings: Findings
) -> ModelT | None:
    """The request's object as `model`, or None after denying with every schema error."""
    try:
        return model.model_validate(request.get("object") or {})
    except ValidationError as e:
        for sentence in describe(e):
            findings.deny(sentence)
        return None
