"""A scheduler pass reads each revision's configuration once, and the process keeps only the
configurations the scheduler's revisions still name (no cluster: the API read is replaced)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes import client

from wasmgate.runner import rollout_reads
from wasmgate.runner.rollout_reads import ParsedConfigs, RevisionConfigs
from wasmgate.runner.scheduler_cluster import KubeSchedulerCluster


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def read_config(api: object, name: str, namespace: str) -> dict[str, Any] | None:
        asked.append(name)
        return None if name.endswith("gone") else {"name": name}

    monkeypatch.setattr(rollout_reads, "read_config", read_config)
    return asked


def _pass(configs: RevisionConfigs, scheduler: str, names: list[str]) -> None:
    """One scheduler pass reading the configurations of the revisions `names`."""
    cluster = KubeSchedulerCluster(
        cast(client.ApiClient, object()), configs=configs.last_read(scheduler)
    )
    for name in names:
        cluster.read_config(name, "wasmgate-system")
    configs.keep(scheduler, cluster.configs_read)


def test_a_configuration_is_read_once_while_a_revision_names_it(reads: list[str]) -> None:
    configs = RevisionConfigs()
    _pass(configs, "s", ["s-1"])
    _pass(configs, "s", ["s-1"])
    _pass(configs, "s", ["s-1", "s-2"])
    _pass(configs, "s", ["s-1", "s-2"])
    assert reads == ["s-1", "s-2"]


def test_a_superseded_revision_s_configuration_is_dropped(reads: list[str]) -> None:
    configs = RevisionConfigs()
    _pass(configs, "s", ["s-1", "s-2"])
    _pass(configs, "s", ["s-2"])
    assert configs.last_read("s") == {"s-2": {"name": "s-2"}}


def test_a_pass_that_reads_nothing_keeps_what_the_last_one_read(reads: list[str]) -> None:
    configs = RevisionConfigs()
    _pass(configs, "s", ["s-1"])
    _pass(configs, "s", [])
    assert configs.last_read("s") == {"s-1": {"name": "s-1"}}


def test_a_missing_configmap_is_read_again_next_pass(reads: list[str]) -> None:
    configs = RevisionConfigs()
    _pass(configs, "s", ["s-gone"])
    _pass(configs, "s", ["s-gone"])
    assert reads == ["s-gone", "s-gone"]
    assert configs.last_read("s") == {}


def test_schedulers_keep_their_own_and_a_forgotten_one_keeps_none(reads: list[str]) -> None:
    configs = RevisionConfigs()
    _pass(configs, "a", ["a-1"])
    _pass(configs, "b", ["b-1"])
    configs.forget("a")
    assert configs.last_read("a") == {}
    assert configs.last_read("b") == {"b-1": {"name": "b-1"}}


def test_last_read_is_a_copy() -> None:
    configs = RevisionConfigs()
    configs.keep("s", {"s-1": {}})
    copy: ParsedConfigs = configs.last_read("s")
    copy.clear()
    assert configs.last_read("s") == {"s-1": {}}
