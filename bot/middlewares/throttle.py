"""Flood control: a person who sends faster than anyone types is slowed down, told once.

What carries a complaint is never counted nor dropped: the messages of a person with an active
ticket (relayed; the outbox paces what reaches staff) and the answers and buttons of the
complaint dialog (stored). Staff and admins are never slowed either. Every other message,
edit, command and button press counts against its sender. Over the limit it is dropped (a
pressed button is answered silently so its spinner stops); in a private chat the person gets
ONE translated notice (at most one a minute), not one per message. In a group (a stranger in
the staff chat) nothing is said: the group's send budget belongs to tickets.

An album counts once, whatever its size. The counts live in this process (`FloodGauge`). With
several replicas they would move to Redis, keyed by person: a sorted set of timestamps
(ZADD now, ZREMRANGEBYSCORE older than the window, ZCARD, EXPIRE the window, in one MULTI) for
the count, and `SET flood:notice:<id> 1 NX EX 60` so that one replica, once, sends the notice.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services.intake import IntakeService
from bot.services.roles import Configured
from db.models import User

log = logging.getLogger("ipdesk.throttle")

COUNTED = frozenset({"message", "edited_message", "callback_query"})
PRIVATE_LIMIT = (10, 5.0)  # updates per seconds, per person, in private chats
GROUP_LIMIT = (3, 60.0)  # in groups each one may cost a reply from a shared budget
NOTICE_EVERY = 60.0
MAX_TRACKED = 10_000
RECENT_ALBUMS = 8


class Verdict(Enum):
    PASS = "pass"
    OVER = "over"  # over the limit
    OVER_NOTIFY = "over_notify"  # over the limit, and the person has not been told lately


@dataclass
class _Sender:
    times: deque[float]
    albums: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_ALBUMS))
    told_at: float = -math.inf


class FloodGauge:
    """A sliding window per sender: more than `limit` updates within `window` seconds is over."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        notice_every: float = NOTICE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.notice_every, self.clock = limit, window, notice_every, clock
        self._senders: dict[int, _Sender] = {}
        self._swept_at = -math.inf

    def hit(self, sender: int, album: str | None = None) -> Verdict:
        now = self.clock()
        if len(self._senders) > MAX_TRACKED and now - self._swept_at >= self.window:
            self._swept_at = now  # at most one sweep a window, however many people write
            self._forget_quiet(now)
        state = self._senders.setdefault(sender, _Sender(deque(maxlen=self.limit + 1)))
        while state.times and state.times[0] <= now - self.window:
            state.times.popleft()
        if album is None or album not in state.albums:  # an album's later parts are free
            state.times.append(now)
            if album is not None:
                state.albums.append(album)
        if len(state.times) <= self.limit:
            return Verdict.PASS
        if now - state.told_at >= self.notice_every:
            state.told_at = now
            return Verdict.OVER_NOTIFY
        return Verdict.OVER

    def _forget_quiet(self, now: float) -> None:
        quiet = [
            key
            for key, state in self._senders.items()
            if (not state.times or state.times[-1] <= now - self.window)
            and now - state.told_at >= self.notice_every
        ]
        for key in quiet:
            del self._senders[key]


class ThrottleMiddleware(BaseMiddleware):
    """An outer update middleware, after the user and i18n middlewares (it reads both)."""

    def __init__(self, private: FloodGauge | None = None, group: FloodGauge | None = None) -> None:
        self.private = private or FloodGauge(*PRIVATE_LIMIT)
        self.group = group or FloodGauge(*GROUP_LIMIT)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender: TgUser | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        settings: Settings = data["settings"]
        if (
            not isinstance(event, Update)
            or event.event_type not in COUNTED
            or sender is None
            or Configured(staff_ids=settings.staff_ids, admin_ids=settings.admin_ids).is_staff(
                sender.id, data.get("user")
            )
        ):
            return await handler(event, data)
        private = chat is None or chat.type == ChatType.PRIVATE
        if private and carries_complaint(event, data):
            return await handler(event, data)  # never counted, never dropped
        album = event.message.media_group_id if event.message is not None else None
        verdict = (self.private if private else self.group).hit(sender.id, album)
        if verdict is Verdict.PASS:
            return await handler(event, data)
        if private and await has_open_draft(data):  # the dialog, after its FSM state was lost
            return await handler(event, data)
        if verdict is Verdict.OVER_NOTIFY and private and chat is not None:
            await notify(data["bot"], chat.id)
        log.info(
            "update dropped: sender over the flood limit",
            extra={"update_id": event.update_id, "sender": sender.id},
        )
        if event.callback_query is not None:
            try:
                await event.callback_query.answer()
            except TelegramAPIError:
                log.warning("could not answer a throttled button press", exc_info=True)
        return None


def carries_complaint(event: Update, data: dict[str, Any]) -> bool:
    """An answer or a button in the complaint dialog (stored), or a message with an active
    ticket (relayed). Commands always count: they are answered, not stored."""
    user: User | None = data.get("user")
    message = event.message or event.edited_message
    if user is None or (message is not None and (message.text or "").startswith("/")):
        return False
    in_dialog = data.get("raw_state") is not None
    return in_dialog or (user.active_ticket_id is not None and message is not None)


async def has_open_draft(data: dict[str, Any]) -> bool:
    user: User | None = data.get("user")
    return user is not None and await IntakeService(data["session"]).open_draft(user.id) is not None


async def notify(bot: Bot, chat_id: int) -> None:
    text = _(
        "You are sending messages faster than I can read them, so I skipped some. "
        "Please wait a few seconds, then write again."
    )
    try:
        await bot.send_message(chat_id, text)
    except TelegramAPIError:
        log.warning("could not send the flood notice", exc_info=True)
