"""Albums: one acknowledgement per media group, after it has gone quiet.

Telegram delivers an album as separate messages sharing a `media_group_id`, with no marker on
the last one. Each part is stored as it arrives; the collector only decides *when to speak*:
every part (re)starts a timer for its group, and once no part has come for `quiet` seconds the
group's callback runs once, in a task of its own (a handler never sleeps).

With several replicas one album's parts may reach different replicas, each with its own timer.
Every part bumps the group's shared sequence number (`bot.locks`: Redis when configured); when a
timer fires, the replica acts only if its own bump is still the latest, i.e. it saw the last
part. So one replica speaks, once the whole album (wherever its parts went) has gone quiet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

from bot.locks import LocalLocks, Locks

log = logging.getLogger("ipdesk.albums")

QUIET_SECONDS = 1.5

OnQuiet = Callable[[], Awaitable[object]]


class AlbumCollector:
    def __init__(self, quiet: float = QUIET_SECONDS, *, locks: Locks | None = None) -> None:
        self.quiet = quiet
        self._locks = locks or LocalLocks()
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._callbacks: dict[Hashable, tuple[OnQuiet, int]] = {}
        self._running: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Groups still waiting for their quiet period."""
        return len(self._timers)

    async def seen(self, key: Hashable, on_quiet: OnQuiet) -> None:
        """A part of group `key` was stored: run `on_quiet` once the group has been quiet.

        A later part replaces the callback (the latest knows the most) and restarts the timer.
        """
        sequence = await self._locks.bump(_name(key))
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._callbacks[key] = (on_quiet, sequence)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.quiet, self._fire, key)

    def _fire(self, key: Hashable) -> None:
        self._timers.pop(key, None)
        self._start(key)

    def _start(self, key: Hashable) -> None:
        waiting = self._callbacks.pop(key, None)
        if waiting is None:
            return
        task = asyncio.get_running_loop().create_task(self._run(key, *waiting))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: Hashable, callback: OnQuiet, sequence: int) -> None:
        try:
            if await self._locks.peek(_name(key)) != sequence:
                log.debug("album: a later part went to another replica", extra={"group": repr(key)})
                return
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


def _name(key: Hashable) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return "album:" + ":".join(str(part) for part in parts)
