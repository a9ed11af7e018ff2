"""The user's stored language; before they are stored, Telegram's language_code; else English."""

from __future__ import annotations

from typing import Any

from aiogram.types import Chat, TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.languages import pick_language
from db.models import User


class UserI18nMiddleware(I18nMiddleware):
    def __init__(
        self, i18n: I18n, *, staff_chat_id: int | None = None, staff_language: str = "ru"
    ) -> None:
        super().__init__(i18n)
        self._staff_chat_id = staff_chat_id
        self._staff_language = staff_language

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.id == self._staff_chat_id:
            return self._staff_language  # the staff chat speaks one language
        user: User | None = data.get("user")
        if user is not None:
            return user.language
        tg_user: TgUser | None = data.get("event_from_user")
        return pick_language(tg_user.language_code if tg_user else None)
