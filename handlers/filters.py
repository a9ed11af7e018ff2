"""Who may do what: the role filters routers carry (a handler never checks permissions itself).

Staff are STAFF_IDS plus the staff role granted in the database, admins ADMIN_IDS plus the
admin role (conventions); an admin is staff too. The granted role is read from the user row the
middleware has already loaded, so a check costs no query.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.services.roles import Configured
from db.models import User


def _sender_id(event: Message | CallbackQuery) -> int | None:
    return event.from_user.id if event.from_user is not None else None


def configured(settings: Settings) -> Configured:
    return Configured(staff_ids=settings.staff_ids, admin_ids=settings.admin_ids)


class IsStaff(Filter):
    """Staff and admins; membership of the staff chat grants nothing."""

    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings, user: User | None = None
    ) -> bool:
        sender = _sender_id(event)
        return sender is not None and configured(settings).is_staff(sender, user)


class IsAdmin(Filter):
    """Admins only."""

    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings, user: User | None = None
    ) -> bool:
        sender = _sender_id(event)
        return sender is not None and configured(settings).is_admin(sender, user)


class CommandsOnly(Filter):
    """A message whose text or caption starts with "/", the only ones aiogram's `Command`
    filters take. A router whose messages are all commands carries it: any other message
    passes that router with this one check, not one failed command parse per handler (a
    typed question passes a dozen routers before it reaches the FAQ)."""

    async def __call__(self, message: Message) -> bool:
        text = message.text or message.caption
        return text is not None and text.startswith("/")


class OutsideDialogs(Filter):
    """A message from someone in no dialog: no dialog state (complaint, rating comment,
    broadcast...) and no open ticket their messages go to. Such a typed text is a question."""

    async def __call__(
        self, message: Message, raw_state: str | None = None, user: User | None = None
    ) -> bool:
        return raw_state is None and (user is None or user.active_ticket_id is None)
