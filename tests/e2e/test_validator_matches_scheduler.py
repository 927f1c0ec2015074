"""A sample of the corpus through upstream's scheduler binary, scheduling a real pod on the kit.

The differential suite (test_upstream_agreement.py) drives upstream's plugin package directly;
this module checks a sample against the whole binary the WasmScheduler Deployment runs. Each
module is its only plugin's guestURL; the scheduler starts against the kit's apiserver and a pod
with its schedulerName is created. What the binary does must be the validator's verdict class:
a load failure exits at start-up naming the cause, a failing call refuses the pod
(FailedScheduling) or takes the scheduler down, and a module that runs binds the pod.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.differential_corpus import CorpusModule, build_corpus
from support.kit import KitHandle
from support.upstream_verdict import validator_outcome
from support.wasm_scheduler import load_guests, run_scheduler, schedule_pod
from wasmgate.validate import validate
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

PLUGIN = "verdict"

# module -> (validator verdict, what upstream's binary says or does)
SAMPLE: dict[str, tuple[str, str]] = {
    "asset/filter_node_name_suffix": ("pass", "binds"),
    "generated/normalized_score_list_null": ("pass", "binds"),
    "generated/postbind_traps": ("pass", "binds"),
    "asset/start_trap": (
        "fail",
        f'initializing plugin "{PLUGIN}": failed to create a guest pool: wasm: instantiate error',
    ),
    "asset/exports_filter_wrong_signature": (
        "fail",
        f'initializing plugin "{PLUGIN}": wasm: guest exports the wrong signature for '
        "func[filter]. should be () -> (i32)",
    ),
    "asset/exports_no_plugin_function": (
        "fail",
        f'initializing plugin "{PLUGIN}": wasm: guest does not export any plugin functions',
    ),
    "generated/filter_traps": ("fail", "wasm: filter error"),
    "generated/bind_only": ("fail", "unexpected podUID"),
}
# A plugin that binds is configured in place of DefaultBinder, or the framework never calls it.
OWN_BINDER = {"generated/bind_only"}


@pytest.fixture(scope="module")
def corpus(
    wasm_assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, CorpusModule]:
    modules = build_corpus(wasm_assets, tmp_path_factory.mktemp("sample-corpus"))
    return {m.name: m for m in modules}


@pytest.mark.parametrize("name", list(SAMPLE), ids=[n.split("/")[1] for n in SAMPLE])
def test_upstreams_scheduler_does_what_the_validator_says(
    kit: KitHandle, corpus: dict[str, CorpusModule], tmp_path: Path, name: str
) -> None:
    module = corpus[name]
    verdict, upstream_says = SAMPLE[name]
    report = validate(module.path.read_bytes(), guest_config=module.guest_config)
    assert report.verdict == verdict, report.message
    scheduler_name = f"sample-{name.split('/')[1].replace('_', '-')}"

    if validator_outcome(report) == "load-fails":
        outcome = load_guests(kit, tmp_path, scheduler_name, {PLUGIN: module.path})
        assert (outcome.healthy, outcome.exit_code) == (False, 1), outcome.log
        # klog escapes quotes in a one-line error value, not in a multi-line one.
        assert upstream_says in outcome.log.replace('\\"', '"'), outcome.log
        return

    own_binder = name in OWN_BINDER
    guests = {PLUGIN: module.path}
    with run_scheduler(kit, tmp_path, scheduler_name, guests, own_binder) as scheduler:
        loaded = wait_for(scheduler.settled, what=f"{scheduler_name} healthy", timeout=60)
        assert loaded.healthy, loaded.log
        with kit.api_client() as api:
            # The pod name ends in 1: filter_node_name_suffix admits only a node ending in 1.
            placed = schedule_pod(scheduler, api, f"{scheduler_name}-1", scheduler_name)
    if verdict == "pass":
        assert placed.node is not None, placed.log
        if name == "asset/filter_node_name_suffix":
            assert placed.node.endswith("1"), placed.node
        return
    assert placed.node is None, f"{name} bound its pod on {placed.node}"
    said = placed.failed_scheduling or placed.log
    assert upstream_says in said, said
