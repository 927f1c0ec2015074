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


# Every combination of the five main groups, with upstream mask.go's verdict (its switch lists
# 23 of the 31; checked at revisions b38b5e60, 55bfc073 and the kit's pinned 9b2791f1bbea, whose
# binary the differential suite runs: tests/e2e/test_upstream_agreement.py).
UPSTREAM_MAIN_COMBINATIONS: dict[str, bool] = {
    "filter": True,
    "score": True,
    "reserve": True,
    "permit": True,
    "bind": True,
    "filter+score": True,
    "filter+reserve": True,
    "filter+permit": True,
    "filter+bind": True,
    "score+reserve": True,
    "score+permit": True,
    "score+bind": True,
    "reserve+permit": False,
    "reserve+bind": True,
    "permit+bind": True,
    "filter+score+reserve": True,
    "filter+score+permit": True,
    "filter+score+bind": True,
    "filter+reserve+permit": False,
    "filter+reserve+bind": False,
    "filter+permit+bind": False,
    "score+reserve+permit": False,
    "score+reserve+bind": True,
    "score+permit+bind": True,
    "reserve+permit+bind": True,
    "filter+score+reserve+permit": False,
    "filter+score+reserve+bind": True,
    "filter+score+permit+bind": True,
    "filter+reserve+permit+bind": False,
    "score+reserve+permit+bind": False,
    "filter+score+reserve+permit+bind": True,
}


@pytest.mark.parametrize(
    ("combination", "accepted"),
    list(UPSTREAM_MAIN_COMBINATIONS.items()),
    ids=list(UPSTREAM_MAIN_COMBINATIONS),
)
@pytest.mark.parametrize("reserve_export", ["reserve", "unreserve"])
def test_every_main_combination_gets_upstreams_verdict(
    combination: str, accepted: bool, reserve_export: str
) -> None:
    # The ride-along points never change the verdict once a main group is exported.
    points = [reserve_export if g == "reserve" else g for g in combination.split("+")]
    points += ["prefilter", "postfilter", "prescore", "normalizescore", "prebind", "postbind"]

    if accepted:
        assert set(check_abi(interface(*points))) == set(points)
    else:
        with pytest.raises(AbiMismatch) as caught:
            check_abi(interface(*points))
        assert caught.value.message == (
            f"the module exports the combination {combination}, which upstream's scheduler does "
            'not support (mask.go refuses it with "filter, score, reserve, permit or bind must '
            'be exported"); drop or add one of these points'
        )


def test_the_table_covers_every_combination_and_matches_the_abi_constant() -> None:
    groups = ("filter", "score", "reserve", "permit", "bind")
    every = {
        "+".join(g for i, g in enumerate(groups) if mask >> i & 1) for mask in range(1, 1 << 5)
    }

    assert set(UPSTREAM_MAIN_COMBINATIONS) == every
    assert {
        frozenset(c.split("+")) for c, ok in UPSTREAM_MAIN_COMBINATIONS.items() if ok
    } == abi.SUPPORTED_MAIN_COMBINATIONS
    assert sum(UPSTREAM_MAIN_COMBINATIONS.values()) == 23


# Without a main group, upstream accepts exactly "prefilter and nothing else it detects"
# (addpod/removepod are not detected upstream). The kit also accepts prefilter next to any
# ride-along point; the validator follows upstream.
@pytest.mark.parametrize(
    ("points", "accepted"),
    [
        (("prefilter",), True),
        (("prefilter", "addpod", "removepod"), True),
        (("prefilter", "enqueue"), False),
        (("prefilter", "postfilter"), False),
        (("prefilter", "prescore", "normalizescore"), False),
        (("prefilter", "prebind", "postbind"), False),
        (("enqueue",), False),
        (("prescore", "normalizescore"), False),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, tuple) else str(value),
)
def test_no_main_group_is_accepted_only_for_prefilter_alone(
    points: tuple[str, ...], accepted: bool
) -> None:
    if accepted:
        assert check_abi(interface(*points)) == [
            p.name for p in abi.EXTENSION_POINTS if p.name in points
        ]
    else:
        with pytest.raises(AbiMismatch) as caught:
            check_abi(interface(*points))
        assert caught.value.message.endswith(
            'refuses it with "filter, score, reserve, permit or bind must be exported": export '
            "one of those, or prefilter and no other extension point"
        )
