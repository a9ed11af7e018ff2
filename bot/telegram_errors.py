"""The one place that reads Telegram's error strings and turns them into outcomes."""

from __future__ import annotations

from enum import StrEnum

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiohttp import ClientConnectorError


class Failure(StrEnum):
    BLOCKED = "blocked"  # 403: the user blocked the bot (or deactivated)
    THREAD_NOT_FOUND = "thread_not_found"  # a forum topic was deleted or archived
    NOT_A_FORUM = "not_a_forum"  # createForumTopic in a group without topics
    REPLY_NOT_FOUND = "reply_not_found"  # the message we replied to is gone
    CHAT_MIGRATED = "chat_migrated"  # group upgraded to a supergroup: new chat id
    NOT_MODIFIED = "not_modified"  # an edit that changes nothing (a double tap)
    MESSAGE_GONE = "message_gone"  # the message to edit or delete no longer exists
    QUERY_EXPIRED = "query_expired"  # a button press answered too late (a redelivered update)
    RETRY_AFTER = "retry_after"  # 429 flood control
    # Worth retrying; the first two may have taken effect (the request reached Telegram).
    SERVER_ERROR = "server_error"  # 5xx, or an answer that is not Telegram's JSON (a proxy page)
    NO_ANSWER = "no_answer"  # a timeout or a dropped connection
    UNREACHABLE = "unreachable"  # the connection was never made: nothing was sent
    OTHER = "other"


_BAD_REQUEST_MARKERS: tuple[tuple[str, Failure], ...] = (
    ("message thread not found", Failure.THREAD_NOT_FOUND),
    ("the chat is not a forum", Failure.NOT_A_FORUM),
    ("message to be replied not found", Failure.REPLY_NOT_FOUND),
    ("message is not modified", Failure.NOT_MODIFIED),
    ("topic_not_modified", Failure.NOT_MODIFIED),  # a topic renamed, closed or reopened twice
    ("message to edit not found", Failure.MESSAGE_GONE),
    ("query is too old", Failure.QUERY_EXPIRED),
    ("query id is invalid", Failure.QUERY_EXPIRED),
    ("message to delete not found", Failure.MESSAGE_GONE),
    ("message can't be edited", Failure.MESSAGE_GONE),
)

# Outcomes after which the call may have taken effect although the bot heard an error.
MAY_HAVE_TAKEN_EFFECT = frozenset({Failure.SERVER_ERROR, Failure.NO_ANSWER})


def classify(error: TelegramAPIError | ClientDecodeError) -> Failure:
    """What went wrong, for any error a Bot API call raises.

    `ClientDecodeError` is not a `TelegramAPIError`: aiogram raises it when the answer is not
    Telegram's JSON, e.g. the HTML 502 page of a proxy in front of the Bot API.
    """
    if isinstance(error, ClientDecodeError):
        return Failure.SERVER_ERROR
    if isinstance(error, TelegramRetryAfter):
        return Failure.RETRY_AFTER
    if isinstance(error, TelegramMigrateToChat):
        return Failure.CHAT_MIGRATED
    if isinstance(error, TelegramForbiddenError):
        return Failure.BLOCKED
    if isinstance(error, TelegramServerError):
        return Failure.SERVER_ERROR
    if isinstance(error, TelegramEntityTooLarge):  # a 413, raised as a network error
        return Failure.OTHER
    if isinstance(error, TelegramNetworkError):
        if isinstance(error.__cause__, ClientConnectorError):
            return Failure.UNREACHABLE
        return Failure.NO_ANSWER
    if isinstance(error, TelegramBadRequest):
        text = error.message.lower()
        for marker, failure in _BAD_REQUEST_MARKERS:
            if marker in text:
                return failure
    return Failure.OTHER
