"""What one guest call may spend: fuel, a wall-clock deadline and the store's memory ceiling.

The scheduler sets no such limits; the validator does, so that a guest that loops or hogs
memory fails its dry run with the setting named instead of hanging the validator. Deadlines use
wasmtime's epoch interruption, ticked from a background thread while the guest runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import wasmtime

from wasmgate.validate.settings import ValidationLimits

EPOCH_TICK_SECONDS = 0.002
MAX_TABLE_ELEMENTS = 1_000_000
WAZERO_MAX_MEMORY_BYTES = 65536 * 65536  # 65536 pages of 64 KiB, wasm32's and wazero's ceiling
WASM_PAGE_BYTES = 65536


@dataclass(frozen=True)
class Budget:
    """The fuel and time of one call, with the spec fields that set them (for messages)."""

    fuel: int
    milliseconds: int
    fuel_setting: str
    time_setting: str


def call_budget(limits: ValidationLimits) -> Budget:
    """The budget of each extension point call."""
    return Budget(
        limits.call_fuel, limits.call_time_ms, "spec.limits.fuel", "spec.limits.callTimeoutMs"
    )


def start_budget(limits: ValidationLimits) -> Budget:
    """The budget of instantiation, `_start` included."""
    return Budget(
        limits.start_fuel,
        limits.start_time_ms,
        "spec.limits.fuel",
        "spec.limits.startTimeoutMs",
    )


def memory_ceiling_bytes(limits: ValidationLimits) -> int:
    """Linear memory a guest may reach in the validator.

    Upstream caps guest memory only at wazero's 4 GiB; the validator child caps it at its own
    data limit. spec.limits.memoryPages is a warning threshold, not this ceiling.
    """
    return min(WAZERO_MAX_MEMORY_BYTES, limits.child_data_bytes)


def deadline_ticks(milliseconds: int) -> int:
    """Epoch ticks after which a call of `milliseconds` is interrupted."""
    return math.ceil(milliseconds / 1000 / EPOCH_TICK_SECONDS) + 1


@contextmanager
def epoch_ticker(engine: wasmtime.Engine) -> Iterator[None]:
    """Advance the engine's epoch in the background so deadlines interrupt running guests."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(EPOCH_TICK_SECONDS):
            engine.increment_epoch()

    thread = threading.Thread(target=tick, name="wasmgate-epoch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
