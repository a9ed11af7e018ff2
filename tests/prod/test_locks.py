"""The lock port: one holder at a time, shared sequence numbers, and the album collector
across two replicas speaking once. Both implementations, without aiogram."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.fsm import OrderedRedisEventIsolation, SharedRedisStorage
from bot.locks import LocalLocks, Locks, RedisLocks
from bot.services.albums import AlbumCollector


@pytest.fixture(params=["local", "redis"])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[Locks]:
    if request.param == "local":
        yield LocalLocks()
        return
    url = request.getfixturevalue("redis_url")
    client = Redis.from_url(url)
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    try:
        yield RedisLocks(client, prefix=prefix, lock_ttl=5)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_one_holder_at_a_time(locks: Locks) -> None:
    inside: list[str] = []
    overlaps = 0

    async def work(name: str) -> None:
        nonlocal overlaps
        async with locks.hold("ticket:1:topic"):
            overlaps += len(inside)
            inside.append(name)
            await asyncio.sleep(0.05)
            inside.remove(name)

    await asyncio.gather(*(work(f"w{i}") for i in range(5)))
    assert overlaps == 0


async def test_different_names_do_not_wait_for_each_other(locks: Locks) -> None:
    async with locks.hold("ticket:1:topic"):
        async with asyncio.timeout(1):
            async with locks.hold("ticket:2:topic"):
                pass


async def test_sequence_numbers_are_shared_and_start_at_one(locks: Locks) -> None:
    assert await locks.peek("album:1:g") == 0
    assert [await locks.bump("album:1:g") for _ in range(3)] == [1, 2, 3]
    assert await locks.peek("album:1:g") == 3
    assert await locks.bump("album:2:g") == 1


async def test_a_redis_lock_whose_holder_died_frees_itself(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    try:
        dead = RedisLocks(client, prefix=prefix, lock_ttl=0.3)
        held = dead.hold("ticket:9:topic")
        await held.__aenter__()  # and never leaves: its process was killed
        alive = RedisLocks(client, prefix=prefix, lock_ttl=5)
        async with asyncio.timeout(3), alive.hold("ticket:9:topic"):
            pass
    finally:
        await client.delete(*[key async for key in client.scan_iter(match=f"{prefix}*")] or ["-"])
        await client.aclose()


async def test_an_album_spread_over_two_replicas_is_acknowledged_once(locks: Locks) -> None:
    """Each replica has its own collector (and timers); they share the locks."""
    replicas = [AlbumCollector(quiet=0.2, locks=locks), AlbumCollector(quiet=0.2, locks=locks)]
    spoke: list[str] = []

    def ack(replica: int, part: int):  # type: ignore[no-untyped-def]
        async def acknowledge() -> None:
            spoke.append(f"replica {replica} after part {part}")

        return acknowledge

    for part in range(5):  # parts alternate between the replicas, 50 ms apart
        replica = part % 2
        await replicas[replica].seen((42, "album-1"), ack(replica, part))
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert spoke == ["replica 0 after part 4"]  # once, by whoever saw the last part
    for collector in replicas:
        await collector.close()


async def test_an_album_whose_sequence_redis_lost_is_acknowledged_once_at_once(
    redis_url: str,
) -> None:
    """Redis restarts empty between the last part and the quiet timers: no replica can tell
    whose part was last, and one of them (not none, not both) speaks when its timer fires."""
    client = Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    locks = RedisLocks(client, prefix=prefix, lock_ttl=5)
    replicas = [AlbumCollector(quiet=0.2, locks=locks), AlbumCollector(quiet=0.3, locks=locks)]
    spoke: list[int] = []

    def ack(replica: int):  # type: ignore[no-untyped-def]
        async def acknowledge() -> None:
            spoke.append(replica)

        return acknowledge

    try:
        for part in range(4):
            await replicas[part % 2].seen((42, "album-2"), ack(part % 2))
        await client.delete(*[key async for key in client.scan_iter(match=f"{prefix}*")])
        await asyncio.sleep(0.6)
        assert spoke == [0]  # the first timer to fire claimed it
    finally:
        for collector in replicas:
            await collector.close()
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_a_claim_is_won_once(locks: Locks) -> None:
    assert await locks.claim("album:1:x") is True
    assert await locks.claim("album:1:x") is False
    assert await locks.claim("album:1:y") is True


async def test_a_persons_update_lock_is_short_lived_and_renewed_while_held(
    redis_url: str,
) -> None:
    """The per-person lock lives a short while (so a process killed mid-update holds the person
    up only that long) and is renewed while its update runs: a long update keeps it."""
    client = Redis.from_url(redis_url)
    keys = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:12]}:fsm", with_destiny=True)
    short = {"timeout": 1, "sleep": 0.01, "blocking_timeout": 0.2}
    isolation = OrderedRedisEventIsolation(client, keys, lock_kwargs=short, renew_every=0.3)
    other = OrderedRedisEventIsolation(client, keys, lock_kwargs=short, renew_every=0.3)
    person = StorageKey(bot_id=1, chat_id=7, user_id=7)
    name = keys.build(person, "lock")
    try:
        async with isolation.lock(person):
            await asyncio.sleep(2.5)  # longer than the lock's own lifetime
            assert await client.pttl(name) > 0
            with pytest.raises(LockError):  # another replica still waits
                async with other.lock(person):
                    pass
        assert not await client.exists(name)  # released at the end
    finally:
        await client.delete(name)
        await client.aclose()


async def test_the_lock_brings_the_persons_state_for_the_first_read(redis_url: str) -> None:
    """Taking a person's lock reads their state in the same round trip; the FSM middleware's
    first read gets it from there, every later read (or one after a change) from Redis."""
    client = Redis.from_url(redis_url)
    keys = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:12]}:fsm", with_destiny=True)
    storage = SharedRedisStorage(client, key_builder=keys)
    isolation = OrderedRedisEventIsolation(client, keys)
    person = StorageKey(bot_id=1, chat_id=7, user_id=7)
    other = StorageKey(bot_id=1, chat_id=8, user_id=8)
    state_key = keys.build(person, "state")
    try:
        await storage.set_state(person, "Intake:title")
        await storage.set_state(other, "Intake:details")
        async with isolation.lock(person):
            await client.set(state_key, "written behind the lock's back")
            assert await storage.get_state(other) == "Intake:details"  # not the person's
            assert await storage.get_state(person) == "Intake:title"  # read with the lock
            assert await storage.get_state(person) == "written behind the lock's back"
        async with isolation.lock(person):
            await storage.set_state(person, "Intake:evidence")  # a change forgets the copy
            assert await storage.get_state(person) == "Intake:evidence"
        await storage.set_state(person, None)
        async with isolation.lock(person):
            assert await storage.get_state(person) is None  # no state: none brought
        assert await storage.get_state(person) is None
    finally:
        await client.delete(*[key async for key in client.scan_iter(match=f"{keys.prefix}*")])
        await client.aclose()
