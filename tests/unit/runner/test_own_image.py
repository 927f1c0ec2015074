"""The operator finds its own image in its Pod, by container name, for verify-store."""

from __future__ import annotations

from wasmgate.runner.own_image import OPERATOR_CONTAINER, container_image, own_image


def _pod(*containers: tuple[str, str]) -> dict[str, object]:
    return {"spec": {"containers": [{"name": n, "image": i} for n, i in containers]}}


def test_the_operator_container_is_found_by_name_among_sidecars() -> None:
    pod = _pod(("proxy", "envoy:1"), (OPERATOR_CONTAINER, "mirror.local/wasmgate:v1"))
    assert container_image(pod, OPERATOR_CONTAINER) == "mirror.local/wasmgate:v1"


def test_a_single_container_is_taken_whatever_its_name() -> None:
    pod = _pod(("renamed", "x/wasmgate:v2"))
    assert container_image(pod, OPERATOR_CONTAINER) == "x/wasmgate:v2"


def test_two_unknown_containers_leave_the_default() -> None:
    assert container_image(_pod(("a", "a:1"), ("b", "b:1")), OPERATOR_CONTAINER) is None


def test_outside_a_pod_nothing_is_read() -> None:
    assert own_image(object(), {}) is None  # type: ignore[arg-type]
    assert own_image(object(), {"POD_NAME": "p"}) is None  # type: ignore[arg-type]
