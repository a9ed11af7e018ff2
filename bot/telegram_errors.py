"""The one place that reads Telegram's error strings and turns them into outcomes."""

from __future__ import annotations

from enum import StrEnum

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)


class Failure(StrEnum):
    BLOCKED = "blocked"  # 403: the user blocked the bot (or deactivated)
    THREAD_NOT_FOUND = "thread_not_found"  # a forum topic was deleted or archived
    REPLY_NOT_FOUND = "reply_not_found"  # the message we replied to is gone
    CHAT_MIGRATED = "chat_migrated"  # group upgraded to a supergroup: new chat id
    NOT_MODIFIED = "not_modified"  # an edit that changes nothing (a double tap)
    MESSAGE_GONE = "message_gone"  # the message to edit or delete no longer exists
    RETRY_AFTER = "retry_after"  # 429 flood control
    OTHER = "other"


_BAD_REQUEST_MARKERS: tuple[tuple[str, Failure], ...] = (
    ("message thread not found", Failure.THREAD_NOT_FOUND),
    ("message to be replied not found", Failure.REPLY_NOT_FOUND),
    ("message is not modified", Failure.NOT_MODIFIED),
    ("message to edit not found", Failure.MESSAGE_GONE),
    ("message to delete not found", Failure.MESSAGE_GONE),
    ("message can't be edited", Failure.MESSAGE_GONE),
)


def classify(error: TelegramAPIError) -> Failure:
    if isinstance(error, TelegramRetryAfter):
        return Failure.RETRY_AFTER
    if isinstance(error, TelegramMigrateToChat):
        return Failure.CHAT_MIGRATED
    if isinstance(error, TelegramForbiddenError):
        return Failure.BLOCKED
    if isinstance(error, TelegramBadRequest):
        text = error.message.lower()
        for marker, failure in _BAD_REQUEST_MARKERS:
            if marker in text:
                return failure
    return Failure.OTHER
