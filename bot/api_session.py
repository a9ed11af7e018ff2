"""Bot API requests with a JSON body, and sends whose answer is not read.

aiogram's aiohttp session sends every request as an urlencoded form, and `urllib.parse`
percent-encodes it byte by byte in Python: for an FAQ answer (a few kilobytes of Cyrillic or
Hangul HTML) that was more CPU than the rest of sending it. The Bot API accepts
`application/json` for every method without a file upload, and the JSON encoder is in C.
Requests that upload a file keep aiogram's multipart form.

Inline keyboards are prepared for the request once per keyboard object (the FAQ's are built
once per entry and language and reused, `handlers.keyboards.memo_markup`): walking a dumped
keyboard to drop its unset fields was a third of building the request.

`SendMessageForEffect` is sendMessage for a caller that does not read the answer (an FAQ
answer): Telegram's reply, the whole message with its entities and keyboard, is read as its
message id only, not built into a `Message` of a hundred objects.
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup, Message, MessageId
from aiohttp import BytesPayload, FormData

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import TelegramType

JSON = "application/json"
KEYBOARDS_KEPT = 512  # prepared keyboards kept (each with the keyboard itself, so ids stay unique)
_KEYBOARD = frozenset({"reply_markup"})


class SendMessageForEffect(SendMessage):
    """sendMessage whose answer only its message id is read from."""

    __returning__ = MessageId  # type: ignore[assignment]

    @classmethod
    def answering(
        cls, message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> SendMessageForEffect:
        """In the chat (and topic) of `message`, as `message.answer` addresses it."""
        return cls(
            chat_id=message.chat.id,
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            business_connection_id=message.business_connection_id,
            text=text,
            reply_markup=reply_markup,
        )


class JsonBodySession(AiohttpSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keyboards: OrderedDict[int, tuple[InlineKeyboardMarkup, Any]] = OrderedDict()

    def build_form_data(  # type: ignore[override]
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        files: dict[str, Any] = {}
        params: dict[str, Any] = {}
        keyboard = getattr(method, "reply_markup", None)
        inline = isinstance(keyboard, InlineKeyboardMarkup)
        dumped = method.model_dump(warnings=False, exclude=_KEYBOARD if inline else None)
        for key, value in dumped.items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what aiogram's form leaves out
                continue
            if isinstance(value, datetime.datetime | datetime.timedelta):
                prepared = int(prepared)  # a Unix time: aiogram prepares it as text
            params[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        if inline:
            params["reply_markup"] = self._prepared_keyboard(keyboard, bot)
        return BytesPayload(self.json_dumps(params).encode(), content_type=JSON)

    def _prepared_keyboard(self, keyboard: InlineKeyboardMarkup, bot: Bot) -> Any:
        kept = self._keyboards.get(id(keyboard))
        if kept is not None and kept[0] is keyboard:
            self._keyboards.move_to_end(id(keyboard))
            return kept[1]
        prepared = self.prepare_value(
            keyboard.model_dump(warnings=False), bot=bot, files={}, _dumps_json=False
        )
        self._keyboards[id(keyboard)] = (keyboard, prepared)
        if len(self._keyboards) > KEYBOARDS_KEPT:
            self._keyboards.popitem(last=False)
        return prepared
