"""Which sets of extension points the scheduler accepts (upstream detectInterfaces + mask.go)."""

from __future__ import annotations

import pytest

from wasmgate.errors import AbiMismatch
from wasmgate.validate import abi
from wasmgate.validate.binary import Export, ModuleInterface
from wasmgate.validate.static_check import check_abi


def interface(*points: str) -> ModuleInterface:
    exports = [Export("memory", "memory", None)]
    exports += [Export(p, "func", abi.EXTENSION_POINTS_BY_NAME[p].signature) for p in points]
    return ModuleInterface((), tuple(exports))


@pytest.mark.parametrize(
    "points",
    [
        ("prefilter",),
        ("filter",),
        ("filter", "unreserve"),
        ("score", "normalizescore", "prescore"),
        ("filter", "postfilter", "prefilter", "enqueue", "addpod", "removepod"),
        ("filter", "score", "reserve", "unreserve", "permit", "prebind", "bind", "postbind"),
        ("reserve", "permit", "bind"),
    ],
    ids=lambda points: "+".join(points),
)
def test_accepted(points: tuple[str, ...]) -> None:
    assert check_abi(interface(*points)) == [
        p.name for p in abi.EXTENSION_POINTS if p.name in points
    ]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            ("addpod", "removepod"),
            "the module exports no plugin function; export at least one of: enqueue, prefilter,",
        ),
        (
            ("prefilter", "enqueue"),
            "the module exports only enqueue, prefilter; the scheduler refuses it with "
            '"filter, score, reserve, permit or bind must be exported"',
        ),
        (("postbind",), "the module exports only postbind;"),
        (
            ("filter", "reserve", "permit"),
            "the module exports the combination filter+reserve+permit, which upstream's "
            "scheduler does not support",
        ),
        (("reserve", "permit"), "the module exports the combination reserve+permit,"),
    ],
    ids=[
        "addpod-removepod",
        "prefilter-enqueue",
        "postbind",
        "filter-reserve-permit",
        "reserve-permit",
    ],
)
def test_refused(points: tuple[str, ...], message: str) -> None:
    with pytest.raises(AbiMismatch) as caught:
        check_abi(interface(*points))

    assert caught.value.message.startswith(message)


def test_upstream_supports_23_main_combinations_of_31() -> None:
    assert len(abi.SUPPORTED_MAIN_COMBINATIONS) == 23
