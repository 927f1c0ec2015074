"""The differential suite: the validator's verdict on every module is what upstream's code does.

Each corpus module (tests/support/differential_corpus.py) goes through `wasmgate validate` (the
library, sandboxed child) and through upstream-verdict, which loads it with upstream's own
`scheduler/plugin` package and calls it as the scheduling framework would. Both verdicts fall in
one of three classes: the load fails, a call fails (returns Error, panics or never returns), or it
runs. A validator FAIL must be one upstream would hit; what upstream tolerates passes, with a
warning when it looks risky. Agreement is printed at the end of the run; any disagreement fails
and names the module and both verdicts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.differential_corpus import CorpusModule, build_corpus
from support.upstream_verdict import (
    AGREEMENT_KEY,
    OUTCOMES,
    Outcome,
    upstream_verdict,
    validator_outcome,
)
from wasmgate.validate import validate

pytestmark = pytest.mark.e2e

MIN_CORPUS = 40
# Validator children and harness processes side by side; the machine has two cores.
PARALLEL = 2


def _compare(harness: Path, work: Path, module: CorpusModule) -> tuple[str, Outcome, Outcome, str]:
    upstream = upstream_verdict(harness, module.path, work, guest_config=module.guest_config)
    report = validate(module.path.read_bytes(), guest_config=module.guest_config)
    assert report.verdict != "error", f"{module.name}: the validator failed: {report.message}"
    detail = (
        f"upstream: {upstream.outcome} at {upstream.point or '-'}: {upstream.detail or ''}\n"
        f"    wasmgate: {report.verdict} {report.reason or ''}: {report.message or ''}"
    )
    return module.name, validator_outcome(report), upstream.outcome, detail


def test_the_validator_agrees_with_upstream_on_every_module(
    wasm_assets: dict[str, Path],
    upstream_verdict_binary: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    corpus = build_corpus(wasm_assets, tmp_path / "generated")
    assert len(corpus) >= MIN_CORPUS, [m.name for m in corpus]
    work = tmp_path / "harness"
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda m: _compare(upstream_verdict_binary, work, m), corpus))

    agreeing = sum(1 for _, ours, theirs, _ in results if ours == theirs)
    outcomes = {o: sum(1 for r in results if r[2] == o) for o in OUTCOMES}
    request.config.stash[AGREEMENT_KEY] = (
        f"upstream agreement: {agreeing}/{len(results)} modules "
        f"({100 * agreeing / len(results):.1f}%; upstream: {outcomes})"
    )
    disagreements = [
        f"{name}: wasmgate says {ours}, upstream says {theirs}\n    {detail}"
        for name, ours, theirs, detail in results
        if ours != theirs
    ]
    assert not disagreements, "\n".join(disagreements)
    # Each class is represented, so agreement cannot come from a one-sided corpus.
    assert all(count >= 5 for count in outcomes.values()), outcomes
