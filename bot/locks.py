"""Locks shared by every replica: Redis when `REDIS_URL` is set, this process's memory otherwise.

Two primitives, both named by a string:

- `hold(name)`: mutual exclusion. Used where two replicas must not both act, e.g. creating a
  ticket's forum topic. A holder that dies releases the lock when its TTL runs out.
- `bump(name)` / `peek(name)`: a shared sequence number. Used to find which replica saw the
  last part of something that arrives in pieces (an album): every part bumps it, and only the
  replica whose own bump is still the latest when its timer fires acts.
- `claim(name)`: true for the first caller only (for `COUNTER_TTL`). Used when a sequence
  number is gone (Redis restarted empty): nobody knows who saw the last part, so the first
  replica to ask acts.

These coordinate work; they never replace the database's unique keys, which are what make an
effect happen once (conventions). Knows nothing of aiogram.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError

PREFIX = "ipdesk:"
LOCK_TTL = 60.0  # seconds a lock outlives a holder that died holding it
WAIT = 30.0  # seconds to wait for a lock before giving up (LockTimeout)
COUNTER_TTL = 300.0  # seconds a sequence number outlives its last bump
POLL = 0.02  # seconds between attempts to take a Redis lock held by someone else


class LockTimeout(TimeoutError):
    """The lock stayed taken for longer than we were willing to wait."""


class Locks(Protocol):
    def hold(self, name: str) -> AbstractAsyncContextManager[None]: ...

    async def bump(self, name: str) -> int: ...

    async def peek(self, name: str) -> int: ...

    async def claim(self, name: str) -> bool: ...


class LocalLocks:
    """One process: asyncio locks and counters in memory (nothing to share them with)."""

    def __init__(self, *, counter_ttl: float = COUNTER_TTL) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._claims: dict[str, float] = {}
        self._counter_ttl = counter_ttl

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] = self._users.get(name, 0) + 1
        try:
            try:
                await asyncio.wait_for(lock.acquire(), WAIT)
            except TimeoutError:
                raise LockTimeout(name) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            self._users[name] -= 1
            if not self._users[name]:  # nobody holds or waits: forget it
                del self._users[name], self._locks[name]

    async def bump(self, name: str) -> int:
        now = time.monotonic()
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        value = self._counters.get(name, (0, 0.0))[0] + 1
        self._counters[name] = (value, now + self._counter_ttl)
        return value

    async def peek(self, name: str) -> int:
        value, expires = self._counters.get(name, (0, 0.0))
        return value if expires > time.monotonic() else 0

    async def claim(self, name: str) -> bool:
        now = time.monotonic()
        self._claims = {k: expires for k, expires in self._claims.items() if expires > now}
        if name in self._claims:
            return False
        self._claims[name] = now + self._counter_ttl
        return True


class RedisLocks:
    """Every replica: `SET NX PX` locks (redis-py's Lock, released only by their holder) and
    `INCR` counters with a TTL, under one key prefix."""

    def __init__(self, redis: Redis, *, prefix: str = PREFIX, lock_ttl: float = LOCK_TTL) -> None:
        self._redis = redis
        self._prefix = prefix
        self._lock_ttl = lock_ttl

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._redis.lock(
            f"{self._prefix}lock:{name}", timeout=self._lock_ttl, sleep=POLL, blocking_timeout=WAIT
        )
        if not await lock.acquire():
            raise LockTimeout(name)
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:  # it expired while held: someone else may have it now
                pass

    async def bump(self, name: str) -> int:
        key = f"{self._prefix}seq:{name}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, int(COUNTER_TTL * 1000))
            value, _ = await pipe.execute()
        return int(value)

    async def peek(self, name: str) -> int:
        value = await self._redis.get(f"{self._prefix}seq:{name}")
        return int(value or 0)

    async def claim(self, name: str) -> bool:
        key = f"{self._prefix}claim:{name}"
        return bool(await self._redis.set(key, 1, nx=True, px=int(COUNTER_TTL * 1000)))
