"""Objects survive parse -> dump -> parse unchanged, in the JSON shape Kubernetes uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from support.api_samples import EXAMPLES, OBJECTS, load
from wasmgate.api.kinds import KINDS
from wasmgate.api.staging_status import StagingStatus
from wasmgate.api.wasmnodecache import WasmNodeCacheStatus
from wasmgate.api.wasmplugin import PullPolicy, Source
from wasmgate.api.wasmplugin_status import WasmPluginStatus
from wasmgate.rollout.compare import holds

ALL = [*EXAMPLES, *OBJECTS]
READY_PLUGIN = next(path for path in OBJECTS if path.stem == "wasmplugin_ready")
FREE_FORM = {"labels", "annotations", "nodeSelector", "baseProfile", "managedFields"}


def _keys(value: Any, parent: str = "") -> list[str]:
    if isinstance(value, dict):
        own = [] if parent in FREE_FORM else list(value)
        return own + [k for key, item in value.items() for k in _keys(item, key)]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item, parent)]
    return []


@pytest.mark.parametrize("path", ALL, ids=[path.stem for path in ALL])
def test_round_trip_is_lossless(path: Path) -> None:
    data = load(path)
    model = KINDS[data["kind"]].model
    parsed = model.model_validate(data)
    again = model.model_validate(parsed.to_json())
    assert again == parsed
    assert again.to_json() == parsed.to_json()
    assert holds(parsed.to_json(), data), "a field of the input was lost"


@pytest.mark.parametrize("path", ALL, ids=[path.stem for path in ALL])
def test_dumped_keys_are_camel_case(path: Path) -> None:
    dumped = KINDS[load(path)["kind"]].model.model_validate(load(path)).to_json()
    snake = [key for key in _keys(dumped) if "_" in key or key[:1].isupper()]
    assert snake == []


def test_python_names_and_json_names_both_parse() -> None:
    by_name = Source(image="ghcr.io/acme/p:v1", pull_policy=PullPolicy.ALWAYS, max_size=2048)
    by_alias = Source.model_validate(
        {"image": "ghcr.io/acme/p:v1", "pullPolicy": "Always", "maxSize": 2048}
    )
    assert by_name == by_alias
    assert by_name.to_json() == {
        "image": "ghcr.io/acme/p:v1",
        "pullPolicy": "Always",
        "maxSize": 2048,
    }


def test_unknown_fields_are_refused_with_their_location() -> None:
    data = load(EXAMPLES[0])
    data["spec"]["source"]["imagePullPolicy"] = "Always"
    with pytest.raises(ValidationError) as caught:
        KINDS[data["kind"]].model.model_validate(data)
    [error] = caught.value.errors()
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ("spec", "source", "imagePullPolicy")


def test_unknown_metadata_is_kept() -> None:
    data = load(READY_PLUGIN)
    parsed = KINDS[data["kind"]].model.model_validate(data)
    assert parsed.to_json()["metadata"]["managedFields"] == data["metadata"]["managedFields"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (StagingStatus(ready=2, desired=3), "2/3"),
        (StagingStatus.model_validate({"ready": 0, "desired": 5}), "0/5"),
        (StagingStatus(), "0/0"),
    ],
    ids=["by_name", "by_alias", "empty"],
)
def test_staging_summary_is_derived(status: StagingStatus, expected: str) -> None:
    assert status.summary == expected


def test_short_digest_is_derived_from_digest() -> None:
    status = WasmPluginStatus(digest="sha256:" + "0123456789ab" + "f" * 52)
    assert status.short_digest == "0123456789ab"
    assert WasmPluginStatus().short_digest is None


def test_node_cache_summary_counts_ready_entries() -> None:
    entry = {"digest": "sha256:" + "a" * 64, "lastTransitionTime": "2025-01-01T00:00:00Z"}
    status = WasmNodeCacheStatus.model_validate(
        {
            "entries": [
                {**entry, "state": "Ready"},
                {**entry, "digest": "sha256:" + "b" * 64, "state": "Pulling"},
            ]
        }
    )
    assert status.summary == "1/2"


def test_timestamps_serialise_as_kubernetes_does() -> None:
    data = load(READY_PLUGIN)
    parsed = KINDS[data["kind"]].model.model_validate(data)
    assert (
        parsed.to_json()["status"]["conditions"][0]["lastTransitionTime"] == "2025-05-01T10:00:01Z"
    )
