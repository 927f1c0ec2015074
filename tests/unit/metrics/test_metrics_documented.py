"""Every wasmgate metric is listed in docs/operations.md, and the list names no metric we lack."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from wasmgate import metrics

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def exported_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter | Gauge | Histogram):
            for family in value.collect():
                suffix = "_total" if family.type == "counter" else ""
                names.add(family.name + suffix)
    return names


def test_the_metrics_table_matches_the_code() -> None:
    documented = set(re.findall(r"^\| `(wasmgate_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))
    assert documented == exported_names()
