"""Albums: one acknowledgement per media group, after it has gone quiet.

Telegram delivers an album as separate messages sharing a `media_group_id`, with no marker on
the last one. Each part is stored as it arrives; the collector only decides *when to speak*:
every part (re)starts a timer for its group, and once no part has come for `quiet` seconds the
group's callback runs once, in a task of its own (a handler never sleeps).

The state is per process. With several replicas, `RedisEventIsolation` keeps one user's updates
on one replica at a time but not one album on one replica; a Redis-based collector (a key per
group with a TTL, the ack sent by whoever sees it expire) is left for a later issue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger("ipdesk.albums")

QUIET_SECONDS = 1.5

OnQuiet = Callable[[], Awaitable[object]]


class AlbumCollector:
    def __init__(self, quiet: float = QUIET_SECONDS) -> None:
        self.quiet = quiet
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._callbacks: dict[Hashable, OnQuiet] = {}
        self._running: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Groups still waiting for their quiet period."""
        return len(self._timers)

    def seen(self, key: Hashable, on_quiet: OnQuiet) -> None:
        """A part of group `key` was stored: run `on_quiet` once the group has been quiet.

        A later part replaces the callback (the latest knows the most) and restarts the timer.
        """
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._callbacks[key] = on_quiet
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.quiet, self._fire, key)

    def _fire(self, key: Hashable) -> None:
        self._timers.pop(key, None)
        self._start(key)

    def _start(self, key: Hashable) -> None:
        callback = self._callbacks.pop(key, None)
        if callback is None:
            return
        task = asyncio.get_running_loop().create_task(self._run(key, callback))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _run(key: Hashable, callback: OnQuiet) -> None:
        try:
            await callback()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("album acknowledgement failed", extra={"group": repr(key)})

    async def close(self, *, flush: bool = True) -> None:
        """Stop: groups still waiting are acknowledged now (`flush`) or dropped."""
        waiting = list(self._timers)
        for key in waiting:
            self._timers.pop(key).cancel()
            if flush:
                self._start(key)
            else:
                self._callbacks.pop(key, None)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
