"""A `Lookup` answered from in-memory indexes that watches keep current, with a fallback.

Reading Secrets, WasmSchedulers and WasmTrustPolicies from the apiserver during a review costs
three round trips, each a quorum read from etcd: on a busy control plane that was 60-90 ms per
CREATE. The operator's kopf indexes (fed by watches, the way controller-runtime caches objects)
answer in microseconds. A watch can lag a few milliseconds behind a write, so a Secret or
WasmScheduler missing from the index is read from the apiserver before anyone is told it does not
exist, and `review_confirmed` repeats a denial against the apiserver: stale data can make
admission briefly more permissive, never refuse a correct object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from wasmgate_admission.decision import AdmissionDecision
from wasmgate_admission.lookup import Lookup

# kopf's Index: a mapping of key -> store (an iterable of the values indexed under that key).
IndexView = Mapping[Any, Iterable[Any]]
ALL = None
"""Key under which the policy index keeps every object."""


class IndexedLookup:
    """Reads from kopf indexes; asks `fallback` only when an index cannot be sure."""

    def __init__(
        self,
        *,
        secrets: IndexView,
        schedulers: IndexView,
        policies: IndexView,
        fallback: Lookup,
        scheduler_plugins: IndexView | None = None,
    ) -> None:
        self._secrets = secrets
        self._scheduler_plugins = scheduler_plugins
        self._schedulers = schedulers
        self._policies = policies
        self._fallback = fallback

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        if (namespace, name) in self._secrets:
            for data in self._secrets[(namespace, name)]:
                return {"data": data}
        return self._fallback.secret(namespace, name)

    def scheduler_exists(self, name: str) -> bool:
        return name in self._schedulers or self._fallback.scheduler_exists(name)

    def trust_policies(self) -> Sequence[Mapping[str, Any]]:
        return list(self._policies[ALL]) if ALL in self._policies else []

    def plugins(self) -> Sequence[Mapping[str, Any]]:
        # Only WasmScheduler DELETE lists plugins, and it must see one created a moment ago;
        # an index of every plugin body would be copied on every status write for nothing.
        return self._fallback.plugins()

    def scheduler_plugins(self, scheduler: str) -> Sequence[str]:
        # Names only: a plugin created a moment ago may be missing, which lets one more in;
        # a denial is confirmed against the apiserver, and the operator caps what slips past.
        if self._scheduler_plugins is None:
            return self._fallback.scheduler_plugins(scheduler)
        return sorted(self._scheduler_plugins.get(scheduler, ()))


Review = Callable[[Mapping[str, Any], Lookup], AdmissionDecision]


async def review_confirmed(
    review: Review, request: Mapping[str, Any], cached: Lookup, fresh: Lookup
) -> AdmissionDecision:
    """Review against the cache in the event loop (no thread hop: it only reads memory, or
    rarely one object on an index miss); a denial is decided again against the apiserver in a
    worker thread."""
    verdict = review(request, cached)
    if verdict.allowed:
        return verdict
    return await asyncio.to_thread(review, request, fresh)
