"""What happened in the world, in order: the feed the driver and the control API wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Pulse:
    """Wakes every waiter when something changed: notify from sync code, wait from async code."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(
        self,
        ready: Callable[[], bool],
        timeout: float | None,  # noqa: ASYNC109 - a deadline is this helper's purpose
    ) -> bool:
        """Wait until `ready()` holds (True) or `timeout` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not ready():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return ready()
            finally:
                self._waiters.discard(waiter)
        return True


class EventKind(StrEnum):
    MESSAGE = "message"
    EDIT = "edit"
    DELETE = "delete"
    CALLBACK_ANSWER = "callback_answer"
    CHAT_ACTION = "chat_action"
    REACTION = "reaction"


@dataclass(frozen=True)
class Event:
    """One observable change. `chat_key` tells private chats with different bots apart."""

    seq: int
    kind: EventKind
    chat_key: tuple[int, ...]
    chat_id: int
    thread_id: int | None
    from_bot: bool
    message: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "from_bot": self.from_bot,
            "message": self.message,
            **self.data,
        }


class EventLog:
    """An append-only list of events with a wake-up for waiters."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.pulse = Pulse()

    def append(
        self,
        kind: EventKind,
        *,
        chat_key: tuple[int, ...],
        chat_id: int,
        thread_id: int | None,
        from_bot: bool,
        message: dict[str, Any] | None = None,
        **data: Any,
    ) -> Event:
        event = Event(
            len(self.events) + 1, kind, chat_key, chat_id, thread_id, from_bot, message, data
        )
        self.events.append(event)
        self.pulse.notify()
        return event

    def after(self, seq: int) -> list[Event]:
        return self.events[seq:]

    def find(self, start: int, match: Callable[[Event], bool]) -> Event | None:
        """The first event at index >= start that matches."""
        return next((e for e in self.events[start:] if match(e)), None)
