"""Session fixtures: the kit starts once, on demand, for every test that asks for `kit`.

A test that needs the kit fails loudly when a component cannot be built or started; nothing is
skipped. After each such test the kit's processes are checked, so a component that died fails
the test with the tail of its log.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.kit import KitHandle
from wasmgate_kit.build import binary_path, build, build_all
from wasmgate_kit.components import component_named
from wasmgate_kit.errors import KitError
from wasmgate_kit.kit import Kit
from wasmgate_kit.real_node import RealNode, start_real_node
from wasmgate_kit.sigstore_stack import SigstoreStack, start_sigstore


@pytest.fixture(scope="session")
def kit_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitHandle]:
    build_all()
    kit = Kit(state_dir=tmp_path_factory.mktemp("kit"))
    kit.start()
    try:
        yield KitHandle(kit)
    finally:
        kit.stop()


@pytest.fixture
def kit(kit_session: KitHandle) -> Iterator[KitHandle]:
    yield kit_session
    try:
        kit_session.kit.check_alive()
    except KitError as e:
        pytest.fail(f"a kit component died during this test: {e.message}")


@pytest.fixture(scope="session")
def sigstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreStack]:
    """The kit's private sigstore instance (Fulcio, Rekor, CT log, OIDC issuer), started only for
    the tests that sign keylessly."""
    build(component_named("sigstore"))
    stack, processes = start_sigstore(tmp_path_factory.mktemp("sigstore"), binary_path)
    try:
        yield stack
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture(scope="session")
def real_node(kit_session: KitHandle) -> Iterator[RealNode]:
    """A real node (kubelet, containerd, runc) joined to the session's kit, started only for the
    tests that ask for it. Needs root and the Debian packages; fails loudly without them."""
    kit = kit_session.kit
    node = kit.node = start_real_node(kit)
    try:
        yield node
    finally:
        node.stop()
        kit.node = None
