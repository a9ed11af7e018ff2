"""Bot API requests with a JSON body.

aiogram's aiohttp session sends every request as an urlencoded form, and `urllib.parse`
percent-encodes it byte by byte in Python: for an FAQ answer (a few kilobytes of Cyrillic or
Hangul HTML) that was more CPU than the rest of sending it. The Bot API accepts
`application/json` for every method without a file upload, and the JSON encoder is in C.
Requests that upload a file keep aiogram's multipart form.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import BytesPayload, FormData

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import TelegramType

JSON = "application/json"


class JsonBodySession(AiohttpSession):
    def build_form_data(  # type: ignore[override]
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        files: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what aiogram's form leaves out
                continue
            if isinstance(value, datetime.datetime | datetime.timedelta):
                prepared = int(prepared)  # a Unix time: aiogram prepares it as text
            params[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(self.json_dumps(params).encode(), content_type=JSON)
