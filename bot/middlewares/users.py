"""Loads the person behind an update (creating them on first private contact) as data["user"]."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Chat, TelegramObject
from aiogram.types import User as TgUser

from bot.services.users import Profile, UserService


class UserMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if tg_user is not None and not tg_user.is_bot:
            service = UserService(data["session"])
            if chat is None or chat.type == ChatType.PRIVATE:
                data["user"] = await service.on_contact(
                    Profile(
                        id=tg_user.id,
                        first_name=tg_user.first_name,
                        username=tg_user.username,
                        language_code=tg_user.language_code,
                    )
                )
            else:
                # In groups we only read: posting in the staff chat makes nobody a user.
                data["user"] = await service.find(tg_user.id)
        return await handler(event, data)
