"""`--scheduler-namespace` and `--node-store` on `wasmgate run`, and their WASMGATE_* variables:
good values reach RolloutConfig and the scheduler Deployment rendered from it, bad ones stop the
process before it starts, naming the flag or the variable and the fix."""

from __future__ import annotations

import pytest

from support.rollout_samples import scheduler
from support.run_agent_args import run_args
from wasmgate.rollout.deployment import build_deployment
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.runner import cli as run_cli
from wasmgate.runner.run_settings import Refused, checked_settings, scheduler_namespace_warning
from wasmgate.settings import settings_from_env

FLAGS = ("--scheduler-namespace=team-wasm", "--node-store=/srv/wasm/store")


def test_without_flags_or_variables_the_defaults_stay() -> None:
    rollout = checked_settings(run_args("--no-webhook"), {}).rollout
    assert (rollout.namespace, rollout.store_root) == ("wasmgate-system", "/var/lib/wasmgate/store")


def test_the_flags_reach_the_rollout_settings() -> None:
    rollout = checked_settings(run_args("--no-webhook", *FLAGS), {}).rollout
    assert (rollout.namespace, rollout.store_root) == ("team-wasm", "/srv/wasm/store")


def test_the_variables_reach_the_rollout_settings_and_a_flag_wins() -> None:
    env = {"WASMGATE_SCHEDULER_NAMESPACE": "team-a", "WASMGATE_NODE_STORE": "/srv/a"}
    assert settings_from_env(env).rollout == RolloutConfig(namespace="team-a", store_root="/srv/a")

    rollout = checked_settings(run_args("--no-webhook", "--node-store=/srv/b"), env).rollout
    assert (rollout.namespace, rollout.store_root) == ("team-a", "/srv/b")


def test_a_deployment_rendered_with_the_flags_lives_in_the_namespace_and_mounts_the_store() -> None:
    rollout = checked_settings(run_args("--no-webhook", *FLAGS), {}).rollout
    deployment = build_deployment(scheduler(), "wasmgate-scheduler-config-00", rollout)
    pod = deployment["spec"]["template"]["spec"]
    store = next(v for v in pod["volumes"] if v["name"] == "store")
    mounts = [
        m["mountPath"]
        for c in (*pod["initContainers"], *pod["containers"])
        for m in c["volumeMounts"]
        if m["name"] == "store"
    ]
    assert deployment["metadata"]["namespace"] == "team-wasm"
    assert store["hostPath"] == {"path": "/srv/wasm/store", "type": "Directory"}
    assert mounts == ["/srv/wasm/store", "/srv/wasm/store"]


NAMESPACE_FIX = "give the namespace wasmgate is installed in, e.g. {}=wasmgate-system"
STORE_FIX = "e.g. {}=/var/lib/wasmgate/store"
# (id, value, what the message says about the value, the fix it names)
BAD_NAMESPACES = [
    ("upper-case", "Team-A", "is not a namespace name: a DNS-1123 label", NAMESPACE_FIX),
    ("underscore", "team_a", "is not a namespace name", NAMESPACE_FIX),
    ("trailing-dash", "team-", "is not a namespace name", NAMESPACE_FIX),
    ("too-long", "a" * 64, "has at most 63 characters", NAMESPACE_FIX),
    ("empty", "", "is not a namespace name", NAMESPACE_FIX),
]
BAD_STORES = [
    ("relative", "var/lib/store", "is not an absolute path", STORE_FIX),
    ("root", "/", "is the node's root directory", STORE_FIX),
    ("root-in-disguise", "/srv/..", "is the node's root directory", STORE_FIX),
    ("trailing-slash", "/srv/wasm/", "is not normalized", "{}=/srv/wasm"),
    ("double-slash", "//srv//wasm", "is not normalized", "{}=/srv/wasm"),
    ("dot-dot", "/srv/x/../wasm", "is not normalized", "{}=/srv/wasm"),
    ("space", "/srv/wasm store", "has characters other than letters", STORE_FIX),
    ("quote", "/srv/wasm'", "load plugins from file:// URLs under it", STORE_FIX),
]
BAD = [
    (f"namespace-{name}", "--scheduler-namespace", "WASMGATE_SCHEDULER_NAMESPACE", *rest)
    for name, *rest in BAD_NAMESPACES
] + [(f"store-{name}", "--node-store", "WASMGATE_NODE_STORE", *rest) for name, *rest in BAD_STORES]


@pytest.mark.parametrize(
    ("flag", "value", "problem", "fix"),
    [(b[1], *b[3:]) for b in BAD],
    ids=[b[0] for b in BAD],
)
def test_a_bad_flag_stops_the_operator_naming_the_flag_and_the_fix(
    flag: str, value: str, problem: str, fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli.run(run_args("--no-webhook", f"{flag}={value}")) == 2

    err = capsys.readouterr().err
    assert err.startswith(f'wasmgate run: {flag}: "{value}" ')
    assert problem in err
    assert fix.format(flag) in err


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [(b[2], b[3], b[4]) for b in BAD if b[3]],
    ids=[b[0] for b in BAD if b[3]],
)
def test_a_bad_variable_is_refused_naming_the_variable(
    variable: str, value: str, problem: str
) -> None:
    with pytest.raises(Refused) as refused:
        checked_settings(run_args("--no-webhook"), {variable: value})

    assert str(refused.value).startswith(f'{variable}: "{value}" ')
    assert problem in str(refused.value)


def test_rollout_config_itself_refuses_a_bad_value() -> None:
    with pytest.raises(ValueError, match=r'RolloutConfig\.store_root: "/" is the node'):
        RolloutConfig(store_root="/")


@pytest.mark.parametrize(
    "env", [{}, {"POD_NAMESPACE": "team-wasm"}], ids=["outside-a-pod", "same-namespace"]
)
def test_an_operator_in_its_scheduler_namespace_is_not_warned(env: dict[str, str]) -> None:
    settings = checked_settings(run_args("--no-webhook", *FLAGS), {})
    assert scheduler_namespace_warning(settings, env) is None


def test_an_operator_outside_its_scheduler_namespace_is_warned() -> None:
    settings = checked_settings(run_args("--no-webhook", *FLAGS), {})

    warning = scheduler_namespace_warning(settings, {"POD_NAMESPACE": "wasmgate-system"})

    assert warning is not None
    assert warning.startswith(
        "scheduler Deployments go to namespace team-wasm, but this operator runs in wasmgate-system"
    )
    assert "set --scheduler-namespace=wasmgate-system" in warning


def test_the_batch_window_comes_from_the_flag_or_the_variable() -> None:
    assert checked_settings(run_args("--no-webhook"), {}).rollout.batch_seconds == 30
    env = {"WASMGATE_ROLLOUT_BATCH_SECONDS": "12"}
    assert checked_settings(run_args("--no-webhook"), env).rollout.batch_seconds == 12
    flagged = run_args("--no-webhook", "--rollout-batch-seconds=0")
    assert checked_settings(flagged, env).rollout.batch_seconds == 0


def test_a_negative_batch_window_is_refused_naming_the_flag_or_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli.run(run_args("--no-webhook", "--rollout-batch-seconds=-1")) == 2
    assert "--rollout-batch-seconds: -1 is negative; give 0" in capsys.readouterr().err

    with pytest.raises(Refused, match="WASMGATE_ROLLOUT_BATCH_SECONDS=-5 is negative"):
        checked_settings(run_args("--no-webhook"), {"WASMGATE_ROLLOUT_BATCH_SECONDS": "-5"})
