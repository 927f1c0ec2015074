from __future__ import annotations

from typing import Any

import pytest
import yaml

from support.rollout_samples import digest, entry, scheduler
from wasmgate.rollout.config import build_scheduler_config, config_hash, render_config
from wasmgate.rollout.plugins import PluginEntry, entries_from_config, layer_digest_from_url
from wasmgate.rollout.settings import RolloutConfig


def _profile(config: dict[str, Any]) -> dict[str, Any]:
    [profile] = config["profiles"]
    return profile


def test_plugins_are_rendered_sorted_with_store_urls() -> None:
    config = build_scheduler_config(
        scheduler(), [entry("zeta", "b", guest_config="pod-digit"), entry("alpha", "c")]
    )
    profile = _profile(config)
    assert config["apiVersion"] == "kubescheduler.config.k8s.io/v1"
    assert profile["schedulerName"] == "wasmgate-scheduler"
    assert profile["plugins"]["multiPoint"]["enabled"] == [{"name": "alpha"}, {"name": "zeta"}]
    assert profile["pluginConfig"] == [
        {
            "name": "alpha",
            "args": {
                "guestURL": "file:///var/lib/wasmgate/store/sha256/" + "c" * 64,
                "guestConfig": "",
                "logSeverity": 0,
            },
        },
        {
            "name": "zeta",
            "args": {
                "guestURL": "file:///var/lib/wasmgate/store/sha256/" + "b" * 64,
                "guestConfig": "pod-digit",
                "logSeverity": 0,
            },
        },
    ]


def test_order_of_input_does_not_change_the_bytes_or_the_hash() -> None:
    plugins = [entry("a", "1"), entry("b", "2"), entry("c", "3")]
    forward = render_config(build_scheduler_config(scheduler(), plugins))
    backward = render_config(build_scheduler_config(scheduler(), list(reversed(plugins))))
    assert forward == backward
    assert config_hash(forward) == config_hash(backward)
    assert len(config_hash(forward)) == 16


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"layer": "9"}, "guestURL", id="layer"),
        pytest.param({"guest_config": "suffix=-1"}, "guestConfig", id="guest-config"),
        pytest.param({"log_severity": 2}, "logSeverity", id="log-severity"),
    ],
)
def test_any_plugin_change_changes_the_hash(change: dict[str, Any], field: str) -> None:
    base = render_config(build_scheduler_config(scheduler(), [entry("a")]))
    layer = change.pop("layer", "a")
    changed = render_config(build_scheduler_config(scheduler(), [entry("a", layer, **change)]))
    assert config_hash(base) != config_hash(changed)
    assert field in changed


def test_leader_election_uses_a_lease_named_after_the_scheduler() -> None:
    config = build_scheduler_config(
        scheduler(schedulerName="team-a"), [], RolloutConfig(namespace="schedulers")
    )
    assert config["leaderElection"] == {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": "team-a",
        "resourceNamespace": "schedulers",
    }
    assert _profile(config)["schedulerName"] == "team-a"


def test_base_profile_is_merged_and_our_plugins_win_on_name_clashes() -> None:
    base = {
        "percentageOfNodesToScore": 50,
        "plugins": {
            "score": {"disabled": [{"name": "*"}]},
            "multiPoint": {"enabled": [{"name": "NodeAffinity"}, {"name": "a", "weight": 7}]},
        },
        "pluginConfig": [{"name": "a", "args": {"guestURL": "http://evil"}}],
    }
    profile = _profile(build_scheduler_config(scheduler(baseProfile=base), [entry("a")]))
    assert profile["percentageOfNodesToScore"] == 50
    assert profile["plugins"]["score"] == {"disabled": [{"name": "*"}]}
    assert profile["plugins"]["multiPoint"]["enabled"] == [{"name": "NodeAffinity"}, {"name": "a"}]
    assert [item["args"]["guestURL"] for item in profile["pluginConfig"]] == [
        "file:///var/lib/wasmgate/store/sha256/" + "a" * 64
    ]
    assert "schedulerName" not in base  # the spec is not mutated


def test_weight_is_written_only_when_not_default() -> None:
    profile = _profile(build_scheduler_config(scheduler(), [entry("s", weight=5), entry("f")]))
    assert profile["plugins"]["multiPoint"]["enabled"] == [
        {"name": "f"},
        {"name": "s", "weight": 5},
    ]


def test_rendered_config_reads_back_into_the_same_entries() -> None:
    plugins = [entry("a", "1", guest_config="x", log_severity=1, weight=3), entry("b", "2")]
    config = yaml.safe_load(render_config(build_scheduler_config(scheduler(), plugins)))
    read = entries_from_config(config, [p.as_status() for p in plugins])
    assert sorted(read) == ["a", "b"]
    assert [read[p.name].same_config(p) for p in plugins] == [True, True]
    assert read["a"].digest == digest("f")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("http://x/sha256/ab", "is not a file:// URL", id="http"),
        pytest.param("file://plugin.wasm", "does not end in <algorithm>/<hex>", id="no-digest"),
    ],
)
def test_foreign_guest_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(Exception, match="guestURL") as caught:
        layer_digest_from_url(url)
    assert getattr(caught.value, "reason", None) == "RolloutFailed"
    assert message in str(caught.value)


def test_blocked_only_when_the_failed_generation_is_current() -> None:
    assert PluginEntry(
        "a", digest("1"), digest("2"), generation=3, rollout_failed_generation=3
    ).blocked
    assert not PluginEntry(
        "a", digest("1"), digest("2"), generation=4, rollout_failed_generation=3
    ).blocked


def test_the_rendered_bytes_are_pyyamls_own_whichever_emitter_writes_them() -> None:
    # ConfigMaps are named by the hash of these bytes: an emitter that wrote them otherwise
    # would roll every scheduler to a new revision of the same content.
    plugins = [
        entry(f"p{index:02}", "a", guest_config='{"suffix": "-x"}', weight=index % 3 + 1)
        for index in range(50)
    ]
    config = build_scheduler_config(scheduler(), plugins, RolloutConfig())
    expected = yaml.safe_dump(config, sort_keys=True, default_flow_style=False)
    assert render_config(config) == expected
