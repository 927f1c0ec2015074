"""The registry of wasmgate kinds: every place that needs "all our CRDs" iterates this."""

from __future__ import annotations

from wasmgate.api.resource import KindInfo
from wasmgate.api.wasmnodecache import WASMNODECACHE
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.api.wasmtrustpolicy import WASMTRUSTPOLICY

KINDS: dict[str, KindInfo] = {
    info.kind: info for info in (WASMPLUGIN, WASMSCHEDULER, WASMTRUSTPOLICY, WASMNODECACHE)
}
