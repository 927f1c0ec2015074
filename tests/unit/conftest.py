"""Unit tests run no component of the kit: these fixtures stand in for the kit's and fail at once.

`make unit` must pass on a machine where `make kit` never ran, in under two minutes. A test that
needs a registry, a signer, the cluster or a kit-built binary belongs in tests/e2e/.
"""

from __future__ import annotations

import pytest

_KIT_FIXTURES = ("kit_session", "kit", "sigstore", "real_node", "registries", "cosign_bin")


def _refuse(name: str) -> pytest.FixtureFunctionDefinition:
    @pytest.fixture(name=name)
    def refused() -> None:
        pytest.fail(f"a unit test asked for the kit fixture {name!r}; move it to tests/e2e/")

    return refused


for _name in _KIT_FIXTURES:
    globals()[f"_refused_{_name}"] = _refuse(_name)
