"""Judge a scheduler Deployment's rollout from what the apiserver shows, as plain data.

The Deployment controller says whether new pods are updated and available and whether the
progress deadline passed; the pods say whether the scheduler crash-loops, and why (its last log
lines, through terminationMessagePolicy FallbackToLogsOnError). Both are read here into small
observations, so the rollout machine stays a pure function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wasmgate.rollout.names import ANNOTATION_CONFIG_MAP, LABEL_CONFIG_HASH
from wasmgate.rollout.settings import RolloutConfig

PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
CRASH_REASONS = frozenset({"CrashLoopBackOff", "RunContainerError", "CreateContainerError"})
MAX_EVIDENCE = 900
COMMAND_FAILED = '"command failed"'


@dataclass(frozen=True)
class PodObservation:
    """One scheduler pod: which configuration it runs and how its containers fare."""

    name: str
    config_hash: str
    ready: bool
    restarts: int
    waiting_reason: str = ""
    last_exit_code: int | None = None
    last_message: str = ""


@dataclass(frozen=True)
class DeploymentObservation:
    """The scheduler Deployment as the controller reports it."""

    config_map_name: str
    generation: int
    observed_generation: int
    replicas: int
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    total_replicas: int
    deadline_exceeded: bool
    deadline_message: str = ""


class HealthVerdict(StrEnum):
    """How the scheduler Deployment is taking a revision: still rolling, done, or failed."""

    PROGRESSING = "Progressing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Health:
    verdict: HealthVerdict
    message: str


def _container_observation(pod: Mapping[str, Any]) -> tuple[int, str, int | None, str]:
    restarts, waiting, exit_code, message = 0, "", None, ""
    statuses = [
        *((pod.get("status") or {}).get("initContainerStatuses") or []),
        *((pod.get("status") or {}).get("containerStatuses") or []),
    ]
    for status in statuses:
        restarts += int(status.get("restartCount") or 0)
        state_waiting = (status.get("state") or {}).get("waiting") or {}
        if state_waiting.get("reason"):
            waiting = str(state_waiting["reason"])
        terminated = (status.get("lastState") or {}).get("terminated") or (
            (status.get("state") or {}).get("terminated") or {}
        )
        if terminated and int(terminated.get("exitCode") or 0) != 0:
            exit_code = int(terminated["exitCode"])
            message = str(terminated.get("message") or terminated.get("reason") or "")
    return restarts, waiting, exit_code, message


def observe_pod(pod: Mapping[str, Any]) -> PodObservation:
    """A pod (JSON) as the rollout machine sees it."""
    metadata = pod.get("metadata") or {}
    ready = any(
        condition.get("type") == "Ready" and condition.get("status") == "True"
        for condition in (pod.get("status") or {}).get("conditions") or []
    )
    restarts, waiting, exit_code, message = _container_observation(pod)
    return PodObservation(
        name=str(metadata.get("name", "")),
        config_hash=str((metadata.get("labels") or {}).get(LABEL_CONFIG_HASH, "")),
        ready=ready,
        restarts=restarts,
        waiting_reason=waiting,
        last_exit_code=exit_code,
        last_message=message,
    )


def observe_deployment(deployment: Mapping[str, Any]) -> DeploymentObservation:
    """A Deployment (JSON) as the rollout machine sees it."""
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    template = (spec.get("template") or {}).get("metadata") or {}
    progressing: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {}
    )
    return DeploymentObservation(
        config_map_name=str((template.get("annotations") or {}).get(ANNOTATION_CONFIG_MAP, "")),
        generation=int(metadata.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        replicas=int(spec.get("replicas", 1)),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        ready_replicas=int(status.get("readyReplicas") or 0),
        available_replicas=int(status.get("availableReplicas") or 0),
        total_replicas=int(status.get("replicas") or 0),
        deadline_exceeded=progressing.get("reason") == PROGRESS_DEADLINE_EXCEEDED,
        deadline_message=str(progressing.get("message") or ""),
    )


def scheduler_error(log_tail: str) -> str:
    """The part of a scheduler's last log lines that says why it stopped.

    kube-scheduler ends a failed start with `"command failed" err=<cause>` (klog); everything
    before it is start-up noise. Without that marker the tail itself is the best evidence.
    """
    marker = log_tail.rfind(COMMAND_FAILED)
    text = log_tail[marker:] if marker >= 0 else log_tail
    text = " ".join(text.split())
    return text[:MAX_EVIDENCE] if marker >= 0 else text[-MAX_EVIDENCE:]


def _crash_evidence(pods: Iterable[PodObservation], settings: RolloutConfig) -> str | None:
    for pod in pods:
        crashing = pod.waiting_reason in CRASH_REASONS or pod.restarts >= settings.crash_restarts
        if crashing and (pod.last_exit_code is not None or pod.restarts > 0):
            detail = scheduler_error(pod.last_message) or pod.waiting_reason or "no message"
            code = f"exit code {pod.last_exit_code}" if pod.last_exit_code is not None else ""
            return (
                f"scheduler pod {pod.name} restarted {pod.restarts} times ({code or 'crash'}): "
                f"{detail}"
            )
    return None


def judge(
    deployment: DeploymentObservation | None,
    pods: Sequence[PodObservation],
    *,
    config_map_name: str,
    config_hash: str,
    started_at: datetime,
    now: datetime,
    deadline_seconds: int,
    settings: RolloutConfig,
) -> Health:
    """Whether the Deployment finished rolling `config_map_name` out, failed, or is on its way.

    Failed as soon as a pod of the new revision crash-loops (with its last words as evidence),
    when the controller reports ProgressDeadlineExceeded, or when our own clock passes the
    deadline (the controller's condition is only re-evaluated on Deployment events).
    """
    new_pods = [pod for pod in pods if pod.config_hash == config_hash]
    crash = _crash_evidence(new_pods, settings)
    if crash is not None:
        return Health(HealthVerdict.FAILED, crash)
    if deployment is None or deployment.config_map_name != config_map_name:
        late = (now - started_at).total_seconds() > deadline_seconds
        if late:
            return Health(HealthVerdict.FAILED, "the Deployment never took the new configuration")
        return Health(
            HealthVerdict.PROGRESSING, "waiting for the Deployment to take the configuration"
        )
    if deployment.observed_generation >= deployment.generation and (
        deployment.updated_replicas == deployment.replicas
        and deployment.available_replicas == deployment.replicas
        and deployment.total_replicas == deployment.replicas
    ):
        return Health(HealthVerdict.SUCCEEDED, f"{deployment.replicas} scheduler pods available")
    progress = (
        f"{deployment.updated_replicas}/{deployment.replicas} updated, "
        f"{deployment.available_replicas}/{deployment.replicas} available"
    )
    if deployment.deadline_exceeded:
        return Health(HealthVerdict.FAILED, f"{deployment.deadline_message} ({progress})")
    if (now - started_at).total_seconds() > deadline_seconds:
        return Health(
            HealthVerdict.FAILED,
            f"not available within {deadline_seconds}s of the rollout ({progress})",
        )
    return Health(HealthVerdict.PROGRESSING, progress)
