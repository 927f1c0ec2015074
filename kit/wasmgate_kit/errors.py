"""The kit's one error: a component could not be built or started.

It is a WasmgateError so the kit's commands print it like the product's, but it lives here: the
product never raises it.
"""

from __future__ import annotations

from wasmgate.errors import WasmgateError


class KitError(WasmgateError):
    """The local kit could not build or start a component."""

    reason = "KitError"
    permanent = True
