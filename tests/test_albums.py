"""The album collector on its own: one call per group, once the group has gone quiet."""

from __future__ import annotations

import asyncio

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
