"""Reading Deployments and pods into observations, and judging a rollout from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wasmgate.rollout.health import (
    DeploymentObservation,
    HealthVerdict,
    PodObservation,
    judge,
    observe_deployment,
    observe_pod,
    scheduler_error,
)
from wasmgate.rollout.settings import RolloutConfig

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAME = "s-config-00aa"


def _deployment(**status: Any) -> DeploymentObservation:
    fields: dict[str, Any] = {
        "config_map_name": NAME,
        "generation": 3,
        "observed_generation": 3,
        "replicas": 2,
        "updated_replicas": 2,
        "ready_replicas": 2,
        "available_replicas": 2,
        "total_replicas": 2,
        "deadline_exceeded": False,
    }
    fields.update(status)
    return DeploymentObservation(**fields)


PROGRESSING, SUCCEEDED, FAILED = (
    HealthVerdict.PROGRESSING,
    HealthVerdict.SUCCEEDED,
    HealthVerdict.FAILED,
)


def _judge(
    deployment: DeploymentObservation | None,
    pods: tuple[PodObservation, ...] = (),
    seconds: float = 1,
) -> tuple[HealthVerdict, str]:
    health = judge(
        deployment,
        pods,
        config_map_name=NAME,
        config_hash="00aa",
        started_at=T0,
        now=T0 + timedelta(seconds=seconds),
        deadline_seconds=60,
        settings=RolloutConfig(),
    )
    return health.verdict, health.message


@pytest.mark.parametrize(
    ("deployment", "seconds", "verdict", "message"),
    [
        pytest.param(_deployment(), 1, SUCCEEDED, "2 scheduler pods available", id="done"),
        pytest.param(_deployment(observed_generation=2), 1, PROGRESSING, "2/2 updated", id="stale"),
        pytest.param(_deployment(total_replicas=3), 1, PROGRESSING, "2/2 available", id="old-pod"),
        pytest.param(_deployment(available_replicas=1), 1, PROGRESSING, "1/2 available", id="half"),
        pytest.param(_deployment(available_replicas=1), 61, FAILED, "within 60s", id="our-clock"),
        pytest.param(
            _deployment(available_replicas=0, deadline_exceeded=True, deadline_message="RS x"),
            5,
            FAILED,
            "RS x (2/2 updated, 0/2 available)",
            id="controller-deadline",
        ),
        pytest.param(_deployment(config_map_name="other"), 1, PROGRESSING, "take", id="not-yet"),
        pytest.param(None, 61, FAILED, "never took", id="never"),
    ],
)
def test_deployment_verdicts(
    deployment: DeploymentObservation | None, seconds: float, verdict: HealthVerdict, message: str
) -> None:
    got, text = _judge(deployment, seconds=seconds)
    assert got == verdict
    assert message in text


def test_a_crash_of_a_new_pod_fails_at_once_with_the_scheduler_error() -> None:
    crash = PodObservation(
        "p1", "00aa", False, 1, "CrashLoopBackOff", 1, 'x\n"command failed" err=<\n  bad guest'
    )
    verdict, message = _judge(_deployment(available_replicas=0), (crash,))
    assert verdict == HealthVerdict.FAILED
    assert message == (
        'scheduler pod p1 restarted 1 times (exit code 1): "command failed" err=< bad guest'
    )


def test_crashes_of_old_revision_pods_do_not_count() -> None:
    old = PodObservation("p0", "ffff", False, 9, "CrashLoopBackOff", 1, "old trouble")
    assert _judge(_deployment(), (old,))[0] == HealthVerdict.SUCCEEDED


def test_scheduler_error_keeps_the_tail_when_there_is_no_marker() -> None:
    assert scheduler_error("a\n" + "b" * 2000).endswith("b" * 10)
    assert len(scheduler_error("a\n" + "b" * 2000)) == 900


def test_observe_reads_deployment_and_pod_json() -> None:
    deployment = observe_deployment(
        {
            "metadata": {"generation": 4},
            "spec": {
                "replicas": 1,
                "template": {"metadata": {"annotations": {"wasmgate.dev/config-map": NAME}}},
            },
            "status": {
                "observedGeneration": 4,
                "updatedReplicas": 1,
                "availableReplicas": 1,
                "readyReplicas": 1,
                "replicas": 1,
                "conditions": [
                    {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "m"}
                ],
            },
        }
    )
    assert deployment == _deployment(
        generation=4,
        observed_generation=4,
        replicas=1,
        updated_replicas=1,
        ready_replicas=1,
        available_replicas=1,
        total_replicas=1,
        deadline_exceeded=True,
        deadline_message="m",
    )
    pod = observe_pod(
        {
            "metadata": {"name": "p", "labels": {"wasmgate.dev/config-hash": "00aa"}},
            "status": {
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {
                        "restartCount": 2,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"exitCode": 1, "message": "why"}},
                    }
                ],
            },
        }
    )
    assert pod == PodObservation("p", "00aa", False, 2, "CrashLoopBackOff", 1, "why")
