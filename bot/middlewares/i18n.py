"""The user's stored language; before they are stored, Telegram's language_code; else English."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18nMiddleware

from bot.languages import pick_language
from db.models import User


class UserI18nMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        if user is not None:
            return user.language
        tg_user: TgUser | None = data.get("event_from_user")
        return pick_language(tg_user.language_code if tg_user else None)
