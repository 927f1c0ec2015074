"""Validation results by (digest, validator version, limits, guest config, log severity).

A digest validated once is not validated again: the operator revalidates on every reconcile,
and plugin authors rerun `wasmgate validate` in CI. Memory first, then an optional directory of
JSON files (written atomically) that survives restarts. Reports whose verdict is "error" (our
failure, not the module's) are never stored. It also remembers which module each OCI layer
digest carries (the same bytes for a wasm layer, a file inside a tar for the compat layout): both
are content digests, so a plugin pass that knows the layer finds the report without fetching it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
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
        self._modules: OrderedDict[str, str] = OrderedDict()
        # The operator's plugin passes share one cache from many threads.
        self._lock = threading.Lock()

    def _remember(self, key: str, report: ValidationReport) -> None:
        with self._lock:
            self._memory[key] = report
            self._memory.move_to_end(key)
            while len(self._memory) > self.max_entries:
                self._memory.popitem(last=False)

    def note_layer(self, layer_digest: str, module_digest: str) -> None:
        """Remember that the layer `layer_digest` carries the module `module_digest`."""
        with self._lock:
            self._modules[layer_digest] = module_digest
            self._modules.move_to_end(layer_digest)
            while len(self._modules) > self.max_entries:
                self._modules.popitem(last=False)

    def module_of(self, layer_digest: str) -> str | None:
        """The module digest a layer carries, if a validation here has seen it."""
        with self._lock:
            return self._modules.get(layer_digest)

    def get(self, key: str) -> ValidationReport | None:
        with self._lock:
            report = self._memory.get(key)
            if report is not None:
                self._memory.move_to_end(key)
        if report is not None:
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
