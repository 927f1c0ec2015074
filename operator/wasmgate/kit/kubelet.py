"""The kit plays kubelet for scheduler pods: it runs upstream's scheduler as a local process.

kwok nodes run no containers, so on its own the kit could only pretend a scheduler Deployment
rolled out. For pods that carry the scheduler label and are bound to a kit node, this loop does
what a kubelet would: it reads the ConfigMap the pod mounts, maps the node store path
(`file:///var/lib/wasmgate/store/...`) to that node's kit store directory, requests a token for
the pod's ServiceAccount (so the RBAC wasmgate renders is what the scheduler really runs with),
runs `wasmgate verify-store` as the init container, starts upstream's scheduler
(kube-scheduler-wasm-extension, built by the kit) with the container's args, and writes the pod
status: Running and Ready while the process lives and answers /healthz; on exit, restartCount
goes up, the container waits in CrashLoopBackOff and its last log lines become the termination
message (terminationMessagePolicy FallbackToLogsOnError). A Deployment whose scheduler cannot
load a plugin is thus seen failing exactly as it would on a real node.

kwok must leave these pods' status alone: start kwok with `KWOK_FLAGS`. Without them kwok marks
a new pod Ready once before this loop takes over; the Deployment's minReadySeconds keeps that
from counting as available.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import rfc3339
from wasmgate.errors import KitError
from wasmgate.kit.build import binary_path
from wasmgate.kit.components import UPSTREAM_SCHEDULER_BINARY
from wasmgate.kit.net import LOOPBACK, free_port, http_status
from wasmgate.kit.process import ManagedProcess
from wasmgate.kit.real_node import NODE_NAME as REAL_NODE_NAME
from wasmgate.rollout.apply import as_json
from wasmgate.rollout.names import (
    COMPONENT_SCHEDULER,
    CONFIG_KEY,
    CONTAINER_SCHEDULER,
    CONTAINER_VERIFY_STORE,
    LABEL_COMPONENT,
    SCHEDULER_ENTRYPOINT,
)
from wasmgate.rollout.plugins import FILE_SCHEME
from wasmgate.rollout.settings import DEFAULT_STORE_ROOT

if TYPE_CHECKING:
    from wasmgate.kit.kit import Kit

LOG = logging.getLogger(__name__)
SCHEDULER_POD_SELECTOR = f"{LABEL_COMPONENT}={COMPONENT_SCHEDULER}"
# kwok v0.7 skips status management of pods these select (flag deprecated in favour of
# Stage objects, but still honoured by pod_controller.go `need()`).
KWOK_FLAGS = (f"--disregard-status-with-label-selector={SCHEDULER_POD_SELECTOR}",)
POLL_SECONDS = 0.5
PROBE_FAILURE_THRESHOLD = 3
PROBE_TIMEOUT_SECONDS = 5.0
TOKEN_SECONDS = 3600
MAX_BACKOFF_SECONDS = 10.0
TERMINATION_MESSAGE_BYTES = 2048
CONFIG_VOLUME = "config"
MERGE_PATCH = "application/merge-patch+json"
Pod = dict[str, Any]


def kit_store_dir(state_dir: Path, node: str) -> Path:
    """The directory that stands for `/var/lib/wasmgate/store` on kit node `node`."""
    return state_dir / "stores" / node


def map_store_paths(config: dict[str, Any], store_root: str, node_store: Path) -> dict[str, Any]:
    """The configuration with every file:// guest under `store_root` moved to `node_store`."""
    prefix = f"{FILE_SCHEME}{store_root.rstrip('/')}/"
    for profile in config.get("profiles") or []:
        for item in profile.get("pluginConfig") or []:
            args = item.get("args") or {}
            url = args.get("guestURL")
            if isinstance(url, str) and url.startswith(prefix):
                args["guestURL"] = f"{FILE_SCHEME}{node_store}/{url[len(prefix) :]}"
    return config


def _now() -> str:
    return rfc3339(datetime.now(UTC))


def _log_tail(log_path: Path) -> str:
    """This run's last log bytes, as FallbackToLogsOnError would keep them."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    text = text.rpartition("--- starting:")[2].partition("\n")[2]
    return text[-TERMINATION_MESSAGE_BYTES:]


@dataclass
class _Exit:
    code: int
    message: str
    started_at: str
    finished_at: str


@dataclass
class _PodRun:
    """One scheduler pod the kit runs: its process and its container history."""

    namespace: str
    name: str
    uid: str
    node: str
    directory: Path
    labels: dict[str, str] = field(default_factory=dict)
    image: str = ""
    init_image: str = ""
    process: ManagedProcess | None = None
    port: int = 0
    started_at: str = ""
    restarts: int = 0
    init_done: bool = False
    init_restarts: int = 0
    last_exit: _Exit | None = None
    init_exit: _Exit | None = None
    init_finished_at: str = ""
    next_start: float = 0.0
    healthy: bool = False
    probe_failures: int = 0
    last_status: dict[str, Any] = field(default_factory=dict)

    def backoff(self) -> None:
        attempts = self.restarts + self.init_restarts
        self.next_start = time.monotonic() + min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


class KitKubelet:
    """Runs scheduler pods bound to kit nodes as local processes of upstream's scheduler."""

    def __init__(
        self,
        *,
        state_dir: Path,
        api_client: Callable[[], client.ApiClient],
        server: str,
        ca: Path,
        scheduler_binary: Path,
        store_root: str = DEFAULT_STORE_ROOT,
    ) -> None:
        self.state_dir = state_dir
        self.api_client = api_client
        self.server = server
        self.ca = ca
        self.scheduler_binary = scheduler_binary
        self.store_root = store_root
        self.runs: dict[str, _PodRun] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self.holding = threading.Event()
        """While set, no container starts (a node too busy to start pods): tests use it to
        act between a rollout's start and its pods' start."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kit-kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for run in self.runs.values():
            if run.process is not None:
                run.process.stop()
        self.runs.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self.api_client() as api:
                    self.sync(api)
            except Exception as e:  # the loop must outlive one bad round; the error is kept
                message = f"{type(e).__name__}: {e}"
                LOG.warning("kit kubelet: %s", message)
                self.errors.append(message)
            self._stop.wait(POLL_SECONDS)

    def running_pods(self, label: str, value: str) -> dict[str, dict[str, str]]:
        """Labels of the pods with `label=value` whose scheduler process is alive right now."""
        return {
            run.name: dict(run.labels)
            for run in list(self.runs.values())
            if run.labels.get(label) == value and run.process is not None and run.process.running()
        }

    # -- one round ---------------------------------------------------------------------------

    def sync(self, api: client.ApiClient) -> None:
        """Bring every scheduler pod's process and status in line with the apiserver."""
        core = client.CoreV1Api(api)
        listed = core.list_pod_for_all_namespaces(label_selector=SCHEDULER_POD_SELECTOR)
        seen: set[str] = set()
        for pod in as_json(api, listed).get("items") or []:
            metadata, spec = pod["metadata"], pod["spec"]
            uid = str(metadata["uid"])
            if spec.get("nodeName") in (None, "", REAL_NODE_NAME):
                continue  # unbound, or the real node's kubelet runs it
            seen.add(uid)
            if metadata.get("deletionTimestamp"):
                self._delete(core, uid, metadata["namespace"], metadata["name"])
                continue
            run = self.runs.get(uid)
            if run is None:
                run = self._new_run(pod)
                self.runs[uid] = run
            self._drive(api, run, pod)
        for uid in set(self.runs) - seen:
            self._forget(uid)

    def _new_run(self, pod: Pod) -> _PodRun:
        metadata, spec = pod["metadata"], pod["spec"]
        directory = self.state_dir / "kubelet" / f"{metadata['namespace']}_{metadata['name']}"
        directory.mkdir(parents=True, exist_ok=True)
        containers = {c["name"]: c.get("image", "") for c in spec["containers"]}
        inits = {c["name"]: c.get("image", "") for c in spec.get("initContainers") or []}
        return _PodRun(
            namespace=metadata["namespace"],
            name=metadata["name"],
            uid=str(metadata["uid"]),
            node=spec["nodeName"],
            labels=dict(metadata.get("labels") or {}),
            directory=directory,
            image=containers.get(CONTAINER_SCHEDULER, ""),
            init_image=inits.get(CONTAINER_VERIFY_STORE, ""),
        )

    def _forget(self, uid: str) -> None:
        run = self.runs.pop(uid)
        if run.process is not None:
            run.process.stop()

    def _delete(self, core: client.CoreV1Api, uid: str, namespace: str, name: str) -> None:
        """A pod being deleted: stop its scheduler, then confirm the deletion as a kubelet does."""
        if uid in self.runs:
            self._forget(uid)
        try:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except ApiException as e:
            if e.status != 404:
                raise

    def _drive(self, api: client.ApiClient, run: _PodRun, pod: Pod) -> None:
        process = run.process
        if process is not None and not process.running():
            code = process._popen.returncode if process._popen else -1
            run.last_exit = _Exit(code, _log_tail(process.log_path), run.started_at, _now())
            run.process, run.healthy, run.probe_failures = None, False, 0
            run.restarts += 1
            run.backoff()
        if run.process is None and not self.holding.is_set() and time.monotonic() >= run.next_start:
            self._start(api, run, pod)
        if run.process is not None and run.process.running():
            # As a kubelet's readiness probe: Ready on one success, unready only after
            # `failureThreshold` failures in a row, so one slow answer on a loaded machine does
            # not reset the pod's Ready time (and with it minReadySeconds).
            if self._healthy(run):
                run.healthy, run.probe_failures = True, 0
            else:
                run.probe_failures += 1
                if run.probe_failures >= PROBE_FAILURE_THRESHOLD:
                    run.healthy = False
        self._report(api, run, pod)

    def _healthy(self, run: _PodRun) -> bool:
        try:
            url = f"https://{LOOPBACK}:{run.port}/healthz"
            return http_status(url, verify=False, timeout=PROBE_TIMEOUT_SECONDS) == 200
        except OSError:
            return False

    # -- starting a pod ----------------------------------------------------------------------

    def _config_map_name(self, pod: Pod) -> str:
        for volume in pod["spec"].get("volumes") or []:
            if volume.get("name") == CONFIG_VOLUME and "configMap" in volume:
                return str(volume["configMap"]["name"])
        name = pod["metadata"]["name"]
        raise ValueError(f"pod {name} mounts no ConfigMap volume {CONFIG_VOLUME!r}")

    def _kubeconfig(self, api: client.ApiClient, run: _PodRun, pod: Pod) -> Path:
        """A kubeconfig with a token of the pod's ServiceAccount, bound to the pod."""
        account = pod["spec"].get("serviceAccountName") or "default"
        request = client.AuthenticationV1TokenRequest.model_validate(
            {
                "spec": {
                    "audiences": [],
                    "expirationSeconds": TOKEN_SECONDS,
                    "boundObjectRef": {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": run.name,
                        "uid": run.uid,
                    },
                }
            }
        )
        response = client.CoreV1Api(api).create_namespaced_service_account_token(
            account, run.namespace, request
        )
        token = as_json(api, response)["status"]["token"]
        path = run.directory / "kubeconfig"
        user = f"system:serviceaccount:{run.namespace}:{account}"
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "kit",
                            "cluster": {
                                "server": self.server,
                                "certificate-authority": str(self.ca),
                            },
                        }
                    ],
                    "users": [{"name": user, "user": {"token": token}}],
                    "contexts": [{"name": "kit", "context": {"cluster": "kit", "user": user}}],
                    "current-context": "kit",
                }
            )
        )
        path.chmod(0o600)
        return path

    def _write_config(self, api: client.ApiClient, run: _PodRun, pod: Pod) -> Path:
        name = self._config_map_name(pod)
        config_map = client.CoreV1Api(api).read_namespaced_config_map(name, run.namespace)
        config: dict[str, Any] = yaml.safe_load((config_map.data or {})[CONFIG_KEY]) or {}
        config = map_store_paths(config, self.store_root, kit_store_dir(self.state_dir, run.node))
        config.setdefault("clientConnection", {})["kubeconfig"] = str(
            self._kubeconfig(api, run, pod)
        )
        path = run.directory / CONFIG_KEY
        path.write_text(yaml.safe_dump(config, sort_keys=True))
        return path

    def _run_init(self, run: _PodRun, config: Path) -> bool:
        """`wasmgate verify-store`, as the pod's init container; False if it failed."""
        log = run.directory / "verify-store.log"
        init = ManagedProcess(
            "verify-store",
            [sys.executable, "-m", "wasmgate", "verify-store", "--config", config],
            log,
        )
        started = _now()
        init.start()
        popen = init._popen
        assert popen is not None
        code = popen.wait(timeout=120)
        if code == 0:
            run.init_done, run.init_finished_at = True, _now()
            return True
        run.init_exit = _Exit(code, _log_tail(log), started, _now())
        run.init_restarts += 1
        run.backoff()
        return False

    def _start(self, api: client.ApiClient, run: _PodRun, pod: Pod) -> None:
        config = self._write_config(api, run, pod)
        if not run.init_done and not self._run_init(run, config):
            return
        run.port = free_port()
        run.process = ManagedProcess(
            f"scheduler {run.namespace}/{run.name}",
            self._scheduler_argv(pod, config, run),
            run.directory / "scheduler.log",
        )
        run.started_at = _now()
        run.process.start()

    def _scheduler_argv(self, pod: Pod, config: Path, run: _PodRun) -> list[str | Path]:
        """The container's own command and args, run by the binary the image would hold.

        Only what a process on this machine must differ in is replaced: the configuration's
        path, the listening address and port, and the certificate directory. Every other flag
        the Deployment renders reaches upstream's binary, which refuses what it does not know.
        """
        containers = (pod.get("spec") or {}).get("containers") or []
        container: dict[str, Any] = next(
            (c for c in containers if c.get("name") == CONTAINER_SCHEDULER), {}
        )
        command = container.get("command") or []
        if command != [SCHEDULER_ENTRYPOINT]:
            raise KitError(
                f"scheduler container command {command!r}: the kit runs upstream's scheduler "
                f"image, whose binary is {SCHEDULER_ENTRYPOINT}"
            )
        replaced = ("--config", "--bind-address", "--secure-port", "--cert-dir")
        args = [a for a in container.get("args") or [] if not a.startswith(replaced)]
        return [
            self.scheduler_binary,
            *args,
            f"--config={config}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={run.port}",
            f"--cert-dir={run.directory / 'certs'}",
        ]

    # -- status ------------------------------------------------------------------------------

    def _report(self, api: client.ApiClient, run: _PodRun, pod: Pod) -> None:
        status = self._status(run, pod)
        # Someone else may have rewritten the pod's status (the node lifecycle controller marks
        # pods unready when it thinks a node is down): re-assert ours when it differs.
        if status == run.last_status and _readiness(pod.get("status") or {}) == _readiness(status):
            return
        client.CoreV1Api(api).patch_namespaced_pod_status(
            run.name, run.namespace, {"status": status}, _content_type=MERGE_PATCH
        )
        run.last_status = status

    def _status(self, run: _PodRun, pod: Pod) -> dict[str, Any]:
        running = run.process is not None
        ready = running and run.healthy
        initialized = run.init_done
        existing = pod.get("status") or {}
        start_time = existing.get("startTime") or _now()
        pod_ip = existing.get("podIP") or LOOPBACK
        conditions = [
            _condition("PodScheduled", True),
            _condition("Initialized", initialized),
            _condition("ContainersReady", ready),
            _condition("Ready", ready),
        ]
        previous = {c["type"]: c for c in run.last_status.get("conditions", [])}
        for condition in conditions:
            # lastTransitionTime moves only when the status does.
            old = previous.get(condition["type"])
            if old is not None and old["status"] == condition["status"]:
                condition["lastTransitionTime"] = old["lastTransitionTime"]
        return {
            "phase": "Running" if initialized else "Pending",
            "hostIP": LOOPBACK,
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": start_time,
            "conditions": conditions,
            "initContainerStatuses": [_init_status(run)] if run.init_image else [],
            "containerStatuses": [_container_status(run, running, ready)],
        }


def _readiness(status: dict[str, Any]) -> dict[str, str]:
    """Condition type -> status of a pod status."""
    return {c.get("type", ""): c.get("status", "") for c in status.get("conditions") or []}


def _condition(type_: str, value: bool) -> dict[str, Any]:
    return {"type": type_, "status": "True" if value else "False", "lastTransitionTime": _now()}


def _terminated(exit_: _Exit) -> dict[str, Any]:
    return {
        "exitCode": exit_.code,
        "reason": "Completed" if exit_.code == 0 else "Error",
        "message": exit_.message,
        "startedAt": exit_.started_at or exit_.finished_at,
        "finishedAt": exit_.finished_at,
    }


def _init_status(run: _PodRun) -> dict[str, Any]:
    if run.init_done:
        state: Mapping[str, Any] = {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "finishedAt": run.init_finished_at,
            }
        }
    else:
        state = {"waiting": {"reason": "CrashLoopBackOff" if run.init_exit else "PodInitializing"}}
    status: dict[str, Any] = {
        "name": CONTAINER_VERIFY_STORE,
        "image": run.init_image,
        "imageID": "",
        "ready": run.init_done,
        "restartCount": run.init_restarts,
        "state": dict(state),
    }
    if run.init_exit is not None:
        status["lastState"] = {"terminated": _terminated(run.init_exit)}
    return status


def _container_status(run: _PodRun, running: bool, ready: bool) -> dict[str, Any]:
    if running:
        state: dict[str, Any] = {"running": {"startedAt": run.started_at}}
    elif run.last_exit is not None:
        state = {"waiting": {"reason": "CrashLoopBackOff", "message": run.last_exit.message}}
    else:
        state = {"waiting": {"reason": "PodInitializing"}}
    status: dict[str, Any] = {
        "name": CONTAINER_SCHEDULER,
        "image": run.image,
        "imageID": "",
        "ready": ready,
        "started": running,
        "restartCount": run.restarts,
        "state": state,
    }
    if run.last_exit is not None:
        status["lastState"] = {"terminated": _terminated(run.last_exit)}
    return status


def start_kit_kubelet(kit: Kit) -> KitKubelet:
    """The hook for `Kit.start()`: run the kit kubelet for this kit until `.stop()`."""
    control_plane = kit.control_plane
    if control_plane is None:
        raise KitError("start the kit before its kubelet")
    kubelet = KitKubelet(
        state_dir=kit.state_dir,
        api_client=kit.api_client,
        server=control_plane.server,
        ca=control_plane.ca,
        scheduler_binary=binary_path(UPSTREAM_SCHEDULER_BINARY),
    )
    kubelet.start()
    return kubelet
