"""Kubernetes client models as the JSON the apiserver speaks.

The pure packages read objects as plain JSON (camelCase keys, no nulls); the client's typed
list and read calls answer models, so the runner turns them back into JSON here, once. Reads a
scheduler pass makes on every pass skip the models: the client hands over the response
undecoded (`_preload_content=False`) and it is parsed as JSON here; building a Deployment's
model and turning it back into JSON cost more CPU than the request.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client


def as_json(api: client.ApiClient, obj: object) -> dict[str, Any]:
    """A client model as the apiserver's JSON (camelCase, no nulls)."""
    data: dict[str, Any] = api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return data


def response_json(response: Any) -> Any:
    """The body of an undecoded client response (`_preload_content=False`), parsed; the
    connection goes back to the pool."""
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()
