"""Dialog state and the per-person update lock on Redis, shared by every replica.

aiogram's FSM middleware takes a person's lock, then reads their state: two round trips before
the update is handled (and a third to release the lock). Here the lock is taken by a script
that also returns the state, and the storage's first `get_state` inside that lock (the one the
middleware makes) is answered from it: holding the lock, nobody else changes that person's
state in between. Every later read goes to Redis as before.

The same script tells whether Redis still holds the states at all: a marker key (`alive_key`)
is set once the dialog states have been put back from the drafts after Redis started empty
(`handlers.intake.start_dialog_recovery`, every few seconds). Until then, an update finds
`states_may_be_lost()` true, and a person with no state may be in a dialog after all.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.redis import KeyBuilder, RedisEventIsolation, RedisStorage
from redis.asyncio.lock import Lock
from redis.commands.core import AsyncScript

log = logging.getLogger("ipdesk")

# A person's update lock lives 10 s and is renewed every 3 s while its update runs, so a process
# killed mid-update holds that person up for 10 s at most (it was 60 s, the longest update).
# Waiting for it: at most 50 s (then the webhook answers 5xx and Telegram tries again).
ISOLATION_LOCK = {"timeout": 10, "sleep": 0.01, "blocking_timeout": 50}
ISOLATION_RENEW_SECONDS = 3.0

# The state read with the lock, for the update holding it: (person, state), until first read.
_read_with_lock: ContextVar[tuple[StorageKey, str | None] | None] = ContextVar(
    "ipdesk_state_read_with_lock", default=None
)
# True for an update whose lock found the marker gone: Redis restarted empty, states not back.
_states_lost: ContextVar[bool] = ContextVar("ipdesk_states_lost", default=False)


def alive_key(keys: KeyBuilder) -> str:
    """The marker of a Redis whose dialog states are in place (see the module docstring)."""
    return f"{keys.prefix}:alive"  # type: ignore[attr-defined]


def states_may_be_lost() -> bool:
    """Whether the update being handled found Redis emptied and its states not yet put back."""
    return _states_lost.get()


class SharedRedisStorage(RedisStorage):
    """RedisStorage on the process's shared client, which `Resources.close` closes last
    (aiogram closes the storage first thing at shutdown, before updates in flight finish).
    The first state read under a person's lock takes the value the lock brought."""

    async def get_state(self, key: StorageKey) -> str | None:
        found, state = _take_read_with_lock(key)  # once: the handler may change it later
        return state if found else await super().get_state(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        _take_read_with_lock(key)  # what the lock brought is out of date
        await super().set_state(key, state)

    async def close(self) -> None:
        return None


def _take_read_with_lock(key: StorageKey) -> tuple[bool, str | None]:
    """(True, state) if the lock brought `key`'s state and it was not taken yet; forgets it."""
    brought = _read_with_lock.get()
    if brought is None or brought[0] != key:
        return False, None
    _read_with_lock.set(None)
    return True, brought[1]


class _LockReadingState(Lock):
    """redis-py's lock, taken by a script that returns the person's state as well."""

    ACQUIRE_AND_READ = """
        if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            return {1, redis.call('exists', KEYS[3]), redis.call('get', KEYS[2])}
        end
        return {0}
    """

    acquire_and_read: AsyncScript | None = None  # registered once, as redis-py's own scripts

    def __init__(self, *args: Any, state_key: str, alive_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state_key, self._alive_key = state_key, alive_key
        self.state: str | None = None
        self.states_lost = False
        cls = type(self)
        if cls.acquire_and_read is None:
            cls.acquire_and_read = self.redis.register_script(self.ACQUIRE_AND_READ)

    async def acquire(self, *args: Any, token: str | bytes | None = None, **kwargs: Any) -> bool:
        # redis-py's default token is a uuid1 (clock, node, lock): random bytes do as well.
        token = token if token is not None else os.urandom(16).hex()
        return await super().acquire(*args, token=token, **kwargs)

    async def do_acquire(self, token: str | bytes) -> bool:
        assert self.acquire_and_read is not None
        reply = await self.acquire_and_read(
            keys=[self.name, self._state_key, self._alive_key],
            args=[token, int((self.timeout or 0) * 1000)],
            client=self.redis,
        )
        if not reply or reply[0] != 1:
            return False
        self.states_lost = reply[1] == 0
        # A missing state ends the script's list early (Lua stops a table at nil).
        value = reply[2] if len(reply) > 2 else None
        self.state = value.decode() if isinstance(value, bytes) else value
        return True


class OrderedRedisEventIsolation(RedisEventIsolation):
    """Redis's per-person lock (across replicas), taken in arrival order within a replica.

    Redis lock waiters poll, so a person's updates from one batch (an album's parts, messages
    sent in a row) would take the lock in any order and be relayed out of order. A local FIFO
    lock per person in front of it keeps this replica's order, as `SimpleEventIsolation` does
    with memory storage. The Redis lock brings the person's state along (module docstring)."""

    def __init__(
        self, *args: Any, renew_every: float = ISOLATION_RENEW_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._alive_key = alive_key(self.key_builder)
        self._renew_every = renew_every
        self._local: dict[StorageKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        local, users = self._local.get(key, (asyncio.Lock(), 0))
        self._local[key] = (local, users + 1)
        try:
            async with local:
                shared = _LockReadingState(
                    self.redis,
                    self.key_builder.build(key, "lock"),
                    state_key=self.key_builder.build(key, "state"),
                    alive_key=self._alive_key,
                    **self.lock_kwargs,
                )
                async with shared:
                    renewal = _Renewal(shared, self._renew_every)
                    read = _read_with_lock.set((key, shared.state))
                    lost = _states_lost.set(True) if shared.states_lost else None
                    try:
                        yield None
                    finally:
                        if lost is not None:
                            _states_lost.reset(lost)
                        _read_with_lock.reset(read)
                        renewal.cancel()
        finally:
            local, users = self._local[key]
            if users == 1:
                del self._local[key]  # nobody waits: forget the person's lock
            else:
                self._local[key] = (local, users - 1)


class _Renewal:
    """Extends a held Redis lock every `every` seconds until cancelled. A timer, not a task:
    most updates end long before it fires, and a cancelled timer costs next to nothing."""

    def __init__(self, lock: Lock, every: float) -> None:
        self._lock, self._every = lock, every
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(every, self._fire)

    def _fire(self) -> None:
        self._task = asyncio.create_task(self._extend())

    async def _extend(self) -> None:
        try:
            await self._lock.extend(self._lock.timeout or 0, replace_ttl=True)
        except Exception:  # Redis away or the lock lost: the update goes on, unprotected
            log.warning("could not renew a person's update lock", exc_info=True)
            return
        self._timer = asyncio.get_running_loop().call_later(self._every, self._fire)

    def cancel(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
