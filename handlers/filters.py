"""Who may do what: the role filters routers carry (a handler never checks permissions itself)."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.config import Settings


def _sender_id(event: Message | CallbackQuery) -> int | None:
    return event.from_user.id if event.from_user is not None else None


class IsStaff(Filter):
    """Staff are STAFF_IDS and ADMIN_IDS (conventions); membership of the chat grants nothing."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        sender = _sender_id(event)
        return sender is not None and sender in (settings.staff_ids | settings.admin_ids)


class IsAdmin(Filter):
    """Admins are ADMIN_IDS (conventions)."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        sender = _sender_id(event)
        return sender is not None and sender in settings.admin_ids
