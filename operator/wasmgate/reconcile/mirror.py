"""What a registry mirror adds to a stage's inputs, so a changed mirror mapping re-runs it.

Resolve and verify read through the mirror; when the operator restarts with another mapping,
their recorded results no longer say where the bytes came from. A plugin no mirror covers adds
nothing, so its fingerprints stay what they were before mirrors existed and an upgrade does not
re-resolve (and so re-pin) every tag in the cluster.
"""

from __future__ import annotations

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import parse_reference
from wasmgate.oci.settings import RegistrySettings


def mirror_inputs(settings: RegistrySettings, image: str) -> tuple[str, ...]:
    """The mirror repository `image` is read from, as a one-part tuple; empty without one."""
    if not settings.mirrors:
        return ()
    try:
        mirror = settings.mirror_of(parse_reference(image))
    except InvalidSpec:
        return ()  # the stage itself reports the bad reference
    return () if mirror is None else (mirror.name,)
