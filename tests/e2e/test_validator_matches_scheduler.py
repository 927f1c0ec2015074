"""The validator's verdict on a module is what the kit's wasm scheduler does when it loads it.

Each module goes through the validator (the library, sandboxed child) and, as its only plugin's
guestURL, into a real wasm-scheduler against the kit's apiserver. A module the validator passes
must let the scheduler become healthy; one it refuses must make the scheduler exit 1 naming the
same problem (the scheduler's wording from docs/kit-scheduler.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.kit import KitHandle
from support.wasm_assets import ASSET_VERDICTS
from support.wasm_scheduler import load_guests
from wasmgate.validate import validate

pytestmark = pytest.mark.e2e

PLUGIN = "verdict"
EXPECTED = {
    asset: (verdict, reason, fragments) for asset, verdict, reason, fragments in ASSET_VERDICTS
}


@pytest.mark.parametrize(
    ("asset", "scheduler_cause"),
    [
        ("filter_node_name_suffix", None),
        (
            "start_trap",
            f'initializing plugin "{PLUGIN}": failed to create a guest pool: wasm: instantiate '
            f"error: module[{PLUGIN}#1] function[_start] failed: wasm error: unreachable",
        ),
        (
            "exports_filter_wrong_signature",
            f'initializing plugin "{PLUGIN}": wasm: guest exports the wrong signature for '
            "func[filter]. should be () -> (i32)",
        ),
        (
            "exports_no_plugin_function",
            f'initializing plugin "{PLUGIN}": wasm: guest does not export any plugin functions',
        ),
    ],
    ids=["valid", "start-trap", "wrong-signature", "no-plugin-export"],
)
def test_validator_verdict_matches_the_scheduler_loading_the_same_file(
    kit: KitHandle,
    wasm_assets: dict[str, Path],
    tmp_path: Path,
    asset: str,
    scheduler_cause: str | None,
) -> None:
    module = wasm_assets[asset]
    verdict, reason, fragments = EXPECTED[asset]

    report = validate(module.read_bytes())
    outcome = load_guests(kit, tmp_path, f"verdict-{asset.replace('_', '-')}", {PLUGIN: module})

    assert (report.verdict, report.reason) == (verdict, reason), report.message
    for fragment in fragments:
        assert fragment in (report.message or "")
    if verdict == "pass":
        assert outcome.healthy, outcome.log
        assert outcome.exit_code is None
    else:
        assert not outcome.healthy
        assert outcome.exit_code == 1, outcome.log
        # klog escapes quotes in a one-line error value, not in a multi-line one.
        log = outcome.log.replace('\\"', '"')
        assert scheduler_cause is not None and scheduler_cause in log, outcome.log
