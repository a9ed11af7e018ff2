"""The bot works in private chats and the staff chat. Added anywhere else, it leaves at once
and does nothing there (unless a member of staff added it: they may be moving the desk)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter, Filter
from aiogram.types import ChatMemberUpdated

from bot.config import Settings
from bot.delivery import Delivery
from db.models import User
from handlers.filters import configured

log = logging.getLogger("ipdesk.membership")


class ForeignChat(Filter):
    """Not the staff chat (as configured, or as followed after a migration), and not added
    by staff or an admin."""

    async def __call__(
        self,
        event: ChatMemberUpdated,
        settings: Settings,
        delivery: Delivery,
        user: User | None = None,
    ) -> bool:
        desk_chat = delivery.desk.staff_chat_id if delivery.desk is not None else None
        if event.chat.id in (settings.staff_chat_id, desk_chat):
            return False
        return not configured(settings).is_staff(event.from_user.id, user)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type != ChatType.PRIVATE)
    router.my_chat_member.register(leave, ChatMemberUpdatedFilter(JOIN_TRANSITION), ForeignChat())
    return router


async def leave(event: ChatMemberUpdated, bot: Bot) -> None:
    log.info(
        "added to a chat that is not the staff chat: leaving",
        extra={"chat_id": event.chat.id, "chat_type": event.chat.type, "by": event.from_user.id},
    )
    await bot.leave_chat(event.chat.id)
