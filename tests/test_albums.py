"""The album collector on its own: one call per group, once the group has gone quiet."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from bot.locks import LocalLocks
from bot.services.albums import AlbumCollector


class Calls:
    def __init__(self) -> None:
        self.made: list[str] = []

    def make(self, name: str):  # type: ignore[no-untyped-def]
        async def call() -> None:
            self.made.append(name)

        return call


async def test_one_call_per_group_after_quiet() -> None:
    albums, calls = AlbumCollector(quiet=0.2), Calls()
    for part in range(3):
        await albums.seen((1, "g"), calls.make(f"part {part}"))
        await asyncio.sleep(0.1)  # less than the quiet period: the timer starts again
    assert calls.made == [] and albums.pending == 1
    await asyncio.sleep(0.35)
    assert calls.made == ["part 2"]  # the latest callback, once
    assert albums.pending == 0


async def test_groups_are_separate() -> None:
    albums, calls = AlbumCollector(quiet=0.1), Calls()
    await albums.seen((1, "a"), calls.make("a"))
    await albums.seen((2, "a"), calls.make("other chat"))
    await albums.seen((1, "b"), calls.make("b"))
    await asyncio.sleep(0.3)
    assert sorted(calls.made) == ["a", "b", "other chat"]


async def test_a_failing_callback_does_not_stop_the_others() -> None:
    albums, calls = AlbumCollector(quiet=0.05), Calls()

    async def broken() -> None:
        raise RuntimeError("boom")

    await albums.seen("x", broken)
    await albums.seen("y", calls.make("y"))
    await asyncio.sleep(0.2)
    assert calls.made == ["y"]


async def test_close_acknowledges_what_is_still_waiting() -> None:
    albums, calls = AlbumCollector(quiet=60), Calls()
    await albums.seen("x", calls.make("x"))
    await albums.close()
    assert calls.made == ["x"] and albums.pending == 0
    await albums.seen("y", calls.make("y"))
    await albums.close(flush=False)
    assert calls.made == ["x"]


class FlakyLocks(LocalLocks):
    """Redis away for the first `down` peeks; `lost` makes every sequence number read as gone
    (Redis restarted empty)."""

    def __init__(self, down: int = 0, *, lost: bool = False) -> None:
        super().__init__()
        self.down, self.lost = down, lost

    async def peek(self, name: str) -> int:
        if self.down:
            self.down -= 1
            raise RedisConnectionError("Connection refused")
        return 0 if self.lost else await super().peek(name)


async def test_a_group_that_meets_an_outage_is_tried_again_after_another_quiet_period() -> None:
    albums, calls = AlbumCollector(quiet=0.1, locks=FlakyLocks(down=2)), Calls()
    await albums.seen((1, "g"), calls.make("album"))
    await asyncio.sleep(0.15)
    assert calls.made == [] and albums.pending == 1  # Redis away: waiting again
    await asyncio.sleep(0.3)
    assert calls.made == ["album"] and albums.pending == 0


async def test_a_claimed_group_whose_call_meets_an_outage_is_still_made_once() -> None:
    albums, made = AlbumCollector(quiet=0.1, locks=FlakyLocks(lost=True)), []
    failures = [OperationalError("INSERT", {}, ConnectionError("the database is restarting"))]

    async def flush() -> None:
        if failures:
            raise failures.pop()
        made.append("album")

    await albums.seen((1, "g"), flush)
    await asyncio.sleep(0.45)
    assert made == ["album"]  # claimed on the first try, made on the second


async def test_a_bug_is_not_tried_again() -> None:
    albums, tries = AlbumCollector(quiet=0.05), []

    async def broken() -> None:
        tries.append(1)
        raise ValueError("a bug")

    await albums.seen((1, "g"), broken)
    await asyncio.sleep(0.3)
    assert tries == [1] and albums.pending == 0
