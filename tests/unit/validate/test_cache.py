"""The result cache: keyed by everything that can change a verdict, never storing our errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.validate_helpers import wat
from wasmgate.validate import ValidationCache, ValidationLimits, cache, validate
from wasmgate.validate.report import ValidationReport
from wasmgate.validate.validator import cached_validation

FILTER = wat(
    '(module (memory (export "memory") 1) (func (export "filter") (result i32) (i32.const 0)))'
)


def _report(verdict: str = "pass", digest: str = "sha256:00") -> ValidationReport:
    return ValidationReport.model_validate(
        {
            "digest": digest,
            "size": 1,
            "verdict": verdict,
            "reason": None if verdict == "pass" else "X",
        }
    )


BASE = ("sha256:aa", ValidationLimits(), "", 0)


@pytest.mark.parametrize(
    "changed",
    [
        ("sha256:bb", ValidationLimits(), "", 0),
        ("sha256:aa", ValidationLimits(call_fuel=1), "", 0),
        ("sha256:aa", ValidationLimits(nodes=5), "", 0),
        ("sha256:aa", ValidationLimits(), "suffix=1", 0),
        ("sha256:aa", ValidationLimits(), "", 2),
    ],
    ids=["digest", "fuel", "nodes", "guest-config", "log-severity"],
)
def test_key_changes_with_every_input(changed: tuple[str, ValidationLimits, str, int]) -> None:
    assert cache.cache_key(*changed) != cache.cache_key(*BASE)
    assert cache.cache_key(*BASE) == cache.cache_key(*BASE)


def test_key_changes_with_the_validator_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.cache_key(*BASE)
    monkeypatch.setattr(cache, "VALIDATOR_VERSION", "999")

    assert cache.cache_key(*BASE) != before


def test_memory_is_least_recently_used() -> None:
    store = ValidationCache(max_entries=2)
    store.put("a", _report(digest="sha256:a"))
    store.put("b", _report(digest="sha256:b"))
    assert store.get("a") is not None  # a is now the most recent

    store.put("c", _report(digest="sha256:c"))

    assert store.get("b") is None
    assert [store.get(k).digest for k in ("a", "c")] == ["sha256:a", "sha256:c"]  # type: ignore[union-attr]


def test_directory_survives_a_new_cache(tmp_path: Path) -> None:
    ValidationCache(tmp_path).put("k", _report(verdict="fail"))

    again = ValidationCache(tmp_path).get("k")

    assert again == _report(verdict="fail")
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]


def test_errors_are_never_stored(tmp_path: Path) -> None:
    store = ValidationCache(tmp_path)

    store.put("k", _report(verdict="error"))

    assert store.get("k") is None
    assert list(tmp_path.iterdir()) == []


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    (tmp_path / "k.json").write_text("{not json")

    assert ValidationCache(tmp_path).get("k") is None


def test_unwritable_directory_does_not_fail_a_put(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = ValidationCache(blocker / "sub")

    store.put("k", _report())

    assert store.get("k") == _report()


def test_validate_serves_the_second_call_from_the_cache(tmp_path: Path) -> None:
    store = ValidationCache(tmp_path)

    first = validate(FILTER, cache=store)
    second = validate(FILTER, cache=store)

    assert (first.cached, second.cached) == (False, True)
    assert second.model_copy(update={"cached": False, "elapsed_ms": first.elapsed_ms}) == first


def test_a_validated_module_is_found_by_digest_without_its_bytes() -> None:
    store = ValidationCache()
    first = validate(FILTER, cache=store)
    known = cached_validation(first.digest, cache=store)
    assert known is not None and known.cached and known.verdict == first.verdict
    assert cached_validation(first.digest, cache=store, guest_config="other") is None
    assert cached_validation("sha256:" + "0" * 64, cache=store) is None


def test_layers_are_remembered_to_the_module_they_carry_within_a_bound() -> None:
    store = ValidationCache(max_entries=2)
    for index in range(3):
        store.note_layer(f"sha256:layer{index}", f"sha256:module{index}")
    assert store.module_of("sha256:layer0") is None
    assert store.module_of("sha256:layer2") == "sha256:module2"
