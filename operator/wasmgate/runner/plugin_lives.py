"""Which WasmPlugins the watch has reported deleted, for the per-plugin resync daemons.

kopf stops an object's timers and daemons when it sees the object's deletion underway
(`metadata.deletionTimestamp`), which takes a finalizer. WasmPlugins carry none
(handlers/no_finalizer.py), so a deleted plugin vanishes at once and its watch event shows no
deletion underway: a kopf timer for it ran on, holding the plugin's last body and waking every
resync interval to write to a plugin that no longer exists, for as long as the operator lived.
The resync daemon (`handlers.plugins.wasmplugin_resync`) waits on its plugin's event here and
returns when it is set; `handlers.schedulers.wake_on_plugin` sets it when the watch reports the
deletion.
"""

from __future__ import annotations

import asyncio


class PluginLives:
    """One asyncio event per plugin (by uid), set when the plugin is deleted.

    A deletion reported before the plugin's daemon started leaves the event set, so that daemon
    returns at once; a daemon drops its plugin's event when it returns. Used from kopf's event
    loop only.
    """

    def __init__(self) -> None:
        self._ended: dict[str, asyncio.Event] = {}

    def of(self, uid: str) -> asyncio.Event:
        """The event that is set when the plugin `uid` is deleted."""
        return self._ended.setdefault(uid, asyncio.Event())

    def ended(self, uid: str) -> None:
        """The watch reported plugin `uid` deleted."""
        self.of(uid).set()

    def forget(self, uid: str) -> None:
        """The daemon of plugin `uid` returned."""
        self._ended.pop(uid, None)

    def __len__(self) -> int:
        return len(self._ended)
