"""Check a wasm module against the scheduler ABI and dry-run it under limits.

`validate(bytes, limits=...)` is the stage's one entry point; it returns a `ValidationReport`
whose `verdict` is "pass", "fail" (with `reason` WasmInvalid, AbiMismatch, DryRunTrapped or
DryRunErrorStatus) or "error" (the validator itself failed; retry).
`report.raise_for_verdict()` turns a failure into the matching WasmgateError. Importing this
package does not load wasmtime; only the validator child does.
"""

from wasmgate.validate.cache import ValidationCache, default_cache_dir
from wasmgate.validate.report import VALIDATOR_VERSION, ValidationReport
from wasmgate.validate.settings import ValidationLimits
from wasmgate.validate.validator import validate

__all__ = [
    "VALIDATOR_VERSION",
    "ValidationCache",
    "ValidationLimits",
    "ValidationReport",
    "default_cache_dir",
    "validate",
]
