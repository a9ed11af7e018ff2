"""What the desk's services need from Telegram, without knowing it is Telegram.

`Messenger` is the port: `bot.messenger.TelegramMessenger` implements it with aiogram, tests may
implement it with a fake. Every method either returns or raises one of the outcomes below, so
the outbox decides what to do next without reading error strings (bot/telegram_errors.py
does that, once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Messenger(Protocol):
    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Send an HTML text (already escaped by the caller); returns the new message id."""
        ...

    async def copy(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Copy one message (any kind) without a "forwarded from" header; the new id."""
        ...

    async def copy_album(
        self,
        chat_id: int,
        from_chat_id: int,
        message_ids: Sequence[int],
        *,
        thread_id: int | None = None,
    ) -> list[int]:
        """Copy several messages at once, keeping an album together; the new ids in order."""
        ...

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> None:
        """Replace a text; an edit that changes nothing counts as done."""
        ...

    async def edit_caption(self, chat_id: int, message_id: int, caption: str | None) -> None:
        """Replace a media message's caption (None removes it); no change counts as done."""
        ...

    async def is_forum(self, chat_id: int) -> bool:
        """Whether the group has topics."""
        ...

    async def create_topic(self, chat_id: int, name: str) -> int:
        """Create a forum topic; returns its thread id (NotAForum: the group has no topics)."""
        ...

    async def react(self, chat_id: int, message_id: int, emoji: str) -> None:
        """Set the bot's reaction on a message."""
        ...

    async def edit_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """Rename a forum topic; a name that is already so counts as done."""
        ...

    async def set_topic_closed(self, chat_id: int, thread_id: int, closed: bool) -> None:
        """Close (or reopen) a forum topic; a topic already so counts as done."""
        ...


class DeliveryError(Exception):
    """An outcome other than success. Subclasses say what the caller should do next."""


class RetryLater(DeliveryError):
    """429 flood control: try again after `seconds`; nothing was sent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class Transient(DeliveryError):
    """5xx, a timeout, a dropped connection, a non-JSON answer: try again later.

    `ambiguous` is True when the request may have reached Telegram and taken effect (the answer
    was lost or was an error page): a retry may then duplicate the message.
    """

    def __init__(self, reason: str, *, ambiguous: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous


class Blocked(DeliveryError):
    """403: the user blocked the bot, or the bot is no longer in the group. Do not retry."""


class ThreadNotFound(DeliveryError):
    """The forum topic was deleted or archived: re-create it, then send again."""


class NotAForum(DeliveryError):
    """The group has no topics (they were never turned on, or were turned off)."""


class ReplyNotFound(DeliveryError):
    """The message to reply to is gone: send again without the reply."""


class ChatMigrated(DeliveryError):
    """The group became a supergroup with a new id: send there (and remember it)."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Permanent(DeliveryError):
    """Telegram refused the request itself (bad text, message gone, no rights): do not retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
