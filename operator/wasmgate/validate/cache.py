"""Validation results by (digest, validator version, limits, guest config, log severity).

A digest validated once is not validated again: the operator revalidates on every reconcile,
and plugin authors rerun `wasmgate validate` in CI. Memory first, then an optional directory of
JSON files (written atomically) that survives restarts. Reports whose verdict is "error" (our
failure, not the module's) are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from pydantic import ValidationError

from wasmgate.validate.report import VALIDATOR_VERSION, ValidationReport
from wasmgate.validate.settings import ValidationLimits

DEFAULT_MAX_ENTRIES = 256


def cache_key(digest: str, limits: ValidationLimits, guest_config: str, log_severity: int) -> str:
    material = {
        "digest": digest,
        "validator": VALIDATOR_VERSION,
        "limits": limits.as_dict(),
        "guest_config": guest_config,
        "log_severity": log_severity,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/wasmgate/validate, falling back to ~/.cache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasmgate" / "validate"


class ValidationCache:
    """An LRU of reports in memory, optionally backed by a directory."""

    def __init__(self, directory: Path | None = None, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.directory = directory
        self.max_entries = max_entries
        self._memory: OrderedDict[str, ValidationReport] = OrderedDict()

    def _remember(self, key: str, report: ValidationReport) -> None:
        self._memory[key] = report
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def get(self, key: str) -> ValidationReport | None:
        report = self._memory.get(key)
        if report is not None:
            self._memory.move_to_end(key)
            return report
        if self.directory is None:
            return None
        try:
            raw = (self.directory / f"{key}.json").read_bytes()
            report = ValidationReport.model_validate_json(raw)
        except (OSError, ValidationError):
            return None
        self._remember(key, report)
        return report

    def put(self, key: str, report: ValidationReport) -> None:
        if report.verdict == "error":
            return
        self._remember(key, report)
        if self.directory is None:
            return
        # The directory is a convenience: failing to write it never fails a validation.
        tmp: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
            tmp = Path(name)
            with os.fdopen(fd, "wb") as f:
                f.write(report.model_dump_json().encode("utf-8"))
            tmp.replace(self.directory / f"{key}.json")
        except OSError:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
