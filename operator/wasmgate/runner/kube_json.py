"""Kubernetes client models as the JSON the apiserver speaks.

The pure packages read objects as plain JSON (camelCase keys, no nulls); the client's typed
list and read calls answer models, so the runner turns them back into JSON here, once.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client


def as_json(api: client.ApiClient, obj: object) -> dict[str, Any]:
    """A client model as the apiserver's JSON (camelCase, no nulls)."""
    data: dict[str, Any] = api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return data
