"""The aiogram side of the `Messenger` port: Bot API calls in, delivery outcomes out.

Texts are sent with the bot's default parse mode (HTML, from `DefaultBotProperties`); callers
have already escaped what users wrote. Every aiogram error is mapped through
`bot.telegram_errors.classify` to one of the outcomes in `bot.services.ports`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramMigrateToChat
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    ReactionTypeEmoji,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from bot.services.ports import (
    Blocked,
    ChatMigrated,
    DeliveryError,
    NotAForum,
    Permanent,
    ReplyNotFound,
    RetryLater,
    ThreadNotFound,
    Transient,
)
from bot.telegram_errors import MAY_HAVE_TAKEN_EFFECT, Failure, classify

T = TypeVar("T")
AnyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


class TelegramMessenger:
    """`Messenger` over an aiogram `Bot` (which owns the HTTP session and its timeout)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
    ) -> int:
        message = await _call(
            self._bot.send_message(
                chat_id=chat_id,
                text=text,
                message_thread_id=thread_id,
                reply_markup=_markup(reply_markup),
                reply_parameters=_reply(reply_to),
            )
        )
        return message.message_id

    async def copy(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        copied = await _call(
            self._bot.copy_message(
                chat_id=chat_id,
                from_chat_id=from_chat_id,
                message_id=message_id,
                message_thread_id=thread_id,
                reply_parameters=_reply(reply_to),
            )
        )
        return copied.message_id

    async def copy_album(
        self,
        chat_id: int,
        from_chat_id: int,
        message_ids: Sequence[int],
        *,
        thread_id: int | None = None,
    ) -> list[int]:
        copied = await _call(
            self._bot.copy_messages(
                chat_id=chat_id,
                from_chat_id=from_chat_id,
                message_ids=list(message_ids),
                message_thread_id=thread_id,
            )
        )
        return [item.message_id for item in copied]

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> None:
        markup = _markup(reply_markup)
        if markup is not None and not isinstance(markup, InlineKeyboardMarkup):
            raise Permanent("an edited message can carry only an inline keyboard")
        try:
            await _call(
                self._bot.edit_message_text(
                    chat_id=chat_id, message_id=message_id, text=text, reply_markup=markup
                )
            )
        except _NotModified:
            return  # the text is already so: e.g. the first try took effect, its answer was lost

    async def edit_caption(self, chat_id: int, message_id: int, caption: str | None) -> None:
        try:
            await _call(
                self._bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=caption
                )
            )
        except _NotModified:
            return

    async def is_forum(self, chat_id: int) -> bool:
        chat = await _call(self._bot.get_chat(chat_id))
        return bool(chat.is_forum)

    async def create_topic(self, chat_id: int, name: str) -> int:
        topic = await _call(self._bot.create_forum_topic(chat_id=chat_id, name=name))
        return topic.message_thread_id

    async def edit_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        try:
            await _call(
                self._bot.edit_forum_topic(chat_id=chat_id, message_thread_id=thread_id, name=name)
            )
        except _NotModified:
            return

    async def set_topic_closed(self, chat_id: int, thread_id: int, closed: bool) -> None:
        call = self._bot.close_forum_topic if closed else self._bot.reopen_forum_topic
        try:
            await _call(call(chat_id=chat_id, message_thread_id=thread_id))
        except _NotModified:
            return

    async def react(self, chat_id: int, message_id: int, emoji: str) -> None:
        await _call(
            self._bot.set_message_reaction(
                chat_id=chat_id,
                message_id=message_id,
                reaction=[ReactionTypeEmoji(emoji=emoji)],
            )
        )


class _NotModified(Permanent):
    """An edit that changes nothing; `edit_text` turns it into success."""


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except (TelegramAPIError, ClientDecodeError) as error:
        raise outcome_of(error) from error


def outcome_of(error: TelegramAPIError | ClientDecodeError) -> DeliveryError:
    """The port's outcome for an aiogram error."""
    failure = classify(error)
    reason = f"{failure.value}: {error}"
    if failure is Failure.RETRY_AFTER:
        return RetryLater(float(getattr(error, "retry_after", 1)))
    if failure is Failure.CHAT_MIGRATED and isinstance(error, TelegramMigrateToChat):
        return ChatMigrated(error.migrate_to_chat_id)
    if failure is Failure.BLOCKED:
        return Blocked(reason)
    if failure is Failure.THREAD_NOT_FOUND:
        return ThreadNotFound(reason)
    if failure is Failure.NOT_A_FORUM:
        return NotAForum(reason)
    if failure is Failure.REPLY_NOT_FOUND:
        return ReplyNotFound(reason)
    if failure is Failure.NOT_MODIFIED:
        return _NotModified(reason)
    if failure in MAY_HAVE_TAKEN_EFFECT:
        return Transient(reason, ambiguous=True)
    if failure is Failure.UNREACHABLE:
        return Transient(reason, ambiguous=False)
    return Permanent(reason)


def _reply(message_id: int | None) -> ReplyParameters | None:
    return ReplyParameters(message_id=message_id) if message_id is not None else None


def _markup(data: dict[str, Any] | None) -> AnyMarkup | None:
    """A keyboard stored as Bot API JSON, as the aiogram object for its kind."""
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.model_validate(data)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.model_validate(data)
    if data.get("remove_keyboard"):
        return ReplyKeyboardRemove.model_validate(data)
    if data.get("force_reply"):
        return ForceReply.model_validate(data)
    raise Permanent(f"not a keyboard: {sorted(data)}")
