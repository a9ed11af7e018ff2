"""Albums: one acknowledgement per media group, after it has gone quiet.

Telegram delivers an album as separate messages sharing a `media_group_id`, with no marker on
the last one. Each part is stored as it arrives; the collector only decides *when to speak*:
every part (re)starts a timer for its group, and once no part has come for `quiet` seconds the
group's callback runs once, in a task of its own (a handler never sleeps).

With several replicas one album's parts may reach different replicas, each with its own timer.
Every part bumps the group's shared sequence number (`bot.locks`: Redis when configured); when a
timer fires, the replica acts only if its own bump is still the latest, i.e. it saw the last
part. So one replica speaks, once the whole album (wherever its parts went) has gone quiet.
Should the sequence number be gone when a timer fires (Redis restarted empty meanwhile), no
replica can tell whose part was last: the first to claim the group speaks. Should Redis or
the database be away when it fires, the group is tried again after another quiet period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

from bot.locks import LocalLocks, Locks
from bot.outage import is_outage

log = logging.getLogger("ipdesk.albums")

QUIET_SECONDS = 1.5
# A group whose turn met Redis or the database away is tried again every `quiet` seconds, this
# many times; after that its parts wait for the sweep of stale parts (bot.services.desk).
OUTAGE_RETRIES = 20

OnQuiet = Callable[[], Awaitable[object]]
_CLAIMED = -1  # the sequence of a group this replica claimed (sequence numbers start at 1)


class AlbumCollector:
    def __init__(self, quiet: float = QUIET_SECONDS, *, locks: Locks | None = None) -> None:
        self.quiet = quiet
        self._locks = locks or LocalLocks()
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._callbacks: dict[Hashable, tuple[OnQuiet, int, int]] = {}  # (callback, seq, try)
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

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
        self._callbacks[key] = (on_quiet, sequence, 0)
        self._arm(key)

    def _arm(self, key: Hashable) -> None:
        self._timers[key] = asyncio.get_running_loop().call_later(self.quiet, self._fire, key)

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

    async def _run(self, key: Hashable, callback: OnQuiet, sequence: int, attempt: int) -> None:
        try:
            if sequence != _CLAIMED:
                name = _name(key)
                latest = await self._locks.peek(name)
                if latest == 0:  # lost with Redis: the first replica to claim the group speaks
                    if not await self._locks.claim(name):
                        return
                    sequence = _CLAIMED  # ours, also if the callback must be tried again
                elif latest != sequence:
                    log.debug(
                        "album: a later part went to another replica", extra={"group": repr(key)}
                    )
                    return
            await callback()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            again = is_outage(error) and attempt < OUTAGE_RETRIES and not self._closed
            if again and key not in self._callbacks:  # else a newer part has its own timer
                log.warning(
                    "album: Redis or the database unavailable; trying again",
                    extra={"group": repr(key), "error": repr(error)},
                )
                self._callbacks[key] = (callback, sequence, attempt + 1)
                self._arm(key)
            elif not again:
                log.exception("album acknowledgement failed", extra={"group": repr(key)})

    async def close(self, *, flush: bool = True) -> None:
        """Stop: groups still waiting are acknowledged now (`flush`) or dropped."""
        self._closed = True
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
