"""The in-memory Telegram world: people, bots, chats, members, messages, topics and files.

Everything here is synchronous and knows nothing of HTTP. Objects serialise themselves to
Bot API dicts with `to_api()`; the server checks those against the spec.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.events import EventKind, EventLog
from sandbox.files import FileStore
from sandbox.updates import UpdateQueue

FORUM_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
# Message fields that make it a service message (topic created, member joined, ...).
SERVICE_PREFIXES = ("forum_topic_", "new_chat_", "left_chat_", "pinned_message", "migrate_")


def is_service_message(message: dict[str, Any]) -> bool:
    return any(key.startswith(SERVICE_PREFIXES) for key in message)


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class MemberStatus(StrEnum):
    CREATOR = "creator"
    ADMINISTRATOR = "administrator"
    MEMBER = "member"
    RESTRICTED = "restricted"
    LEFT = "left"
    KICKED = "kicked"

    @property
    def is_present(self) -> bool:
        return self in (self.CREATOR, self.ADMINISTRATOR, self.MEMBER, self.RESTRICTED)

    @property
    def is_admin(self) -> bool:
        return self in (self.CREATOR, self.ADMINISTRATOR)


def now() -> int:
    return int(time.time())


@dataclass
class User:
    id: int
    first_name: str
    is_bot: bool = False
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass
class PendingCallback:
    query: dict[str, Any]
    chat: Chat
    thread_id: int | None
    answer: CallbackAnswer | None = None


@dataclass
class BotAccount:
    """A bot as Telegram's servers keep it: identity, settings and its update queue."""

    user: User
    token: str
    can_join_groups: bool = True
    can_read_all_group_messages: bool = False
    updates: UpdateQueue = field(default_factory=UpdateQueue)
    webhook: Webhook | None = None
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    callbacks: dict[str, PendingCallback] = field(default_factory=dict)
    menu_button: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username or ""

    def me(self) -> dict[str, Any]:
        return {
            **self.user.to_api(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


@dataclass
class ForumTopic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass
class Chat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    description: str | None = None
    members: dict[int, MemberStatus] = field(default_factory=dict)
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    last_message_id: int = 0
    migrated_to: int | None = None  # a basic group upgraded to this supergroup
    pinned: list[int] = field(default_factory=list)  # pinned message ids, latest last
    menu_button: dict[str, Any] | None = None
    # Private chats only: the person, the bot, and how they stand.
    user_id: int | None = None
    bot_id: int | None = None
    started: bool = False
    blocked: bool = False

    @property
    def key(self) -> tuple[int, ...]:
        """Unique across the world: a private chat's id is the person's id for every bot."""
        if self.type is ChatType.PRIVATE:
            return (self.id, self.bot_id or 0)
        return (self.id,)

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def status_of(self, user_id: int) -> MemberStatus:
        return self.members.get(user_id, MemberStatus.LEFT)

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type.value}
        for key in ("title", "username", "first_name", "last_name"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data

    def full_info(self) -> dict[str, Any]:
        """The `ChatFullInfo` object getChat returns."""
        data = {
            **self.to_api(),
            "accent_color_id": abs(self.id) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if self.description:
            data["description"] = self.description
        if self.pinned and (pinned := self.messages.get(self.pinned[-1])) is not None:
            data["pinned_message"] = pinned.to_api(with_reply=False)
        return data


@dataclass
class Message:
    chat: Chat
    message_id: int
    sender: User | None
    date: int = field(default_factory=now)
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    reply_markup: dict[str, Any] | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    reply_to: Message | None = None
    media_group_id: str | None = None
    edit_date: int | None = None
    has_protected_content: bool = False
    forward_origin: dict[str, Any] | None = None
    # A reply keyboard (or its removal) sent with the message: shown to people, not in the API.
    keyboard: dict[str, Any] | None = None

    @property
    def from_bot(self) -> bool:
        return self.sender is not None and self.sender.is_bot

    @property
    def is_service(self) -> bool:
        return any(key.startswith(SERVICE_PREFIXES) for key in self.extra)

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": self.message_id}
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
        if self.sender is not None:
            data["from"] = self.sender.to_api()
        data["date"] = self.date
        data["chat"] = self.chat.to_api()
        if self.forward_origin is not None:
            data["forward_origin"] = self.forward_origin
        if self.is_topic_message:
            data["is_topic_message"] = True
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.has_protected_content:
            data["has_protected_content"] = True
        if self.media_group_id is not None:
            data["media_group_id"] = self.media_group_id
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        data.update(self.media)
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        data.update(self.extra)
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        return data


def _token_secret() -> str:
    return secrets.token_urlsafe(26)[:35]


class World:
    """All state of the stand-in. One instance per `StandIn`; no globals."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.bots: dict[int, BotAccount] = {}
        self.tokens: dict[str, BotAccount] = {}
        self.chats: dict[int, Chat] = {}
        self.private_chats: dict[tuple[int, int], Chat] = {}
        self.files = FileStore()
        self.events = EventLog()
        self._user_ids = itertools.count(100_000_001)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._supergroup_ids = itertools.count(1_000_000_001)
        self._media_group_ids = itertools.count(13_000_000_000_000_001)
        self._callback_ids = itertools.count(4_000_000_000_000_001)

    # -- creation -------------------------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> User:
        user = User(next(self._user_ids), first_name, False, last_name, username, language_code)
        self.users[user.id] = user
        return user

    def create_bot(self, username: str, first_name: str) -> BotAccount:
        if not username.lower().endswith("bot"):
            raise ValueError(f"a bot's username must end in 'bot': {username!r}")
        user = User(next(self._bot_ids), first_name, True, username=username)
        bot = BotAccount(user, f"{user.id}:{_token_secret()}")
        self.users[user.id] = user
        self.bots[user.id] = bot
        self.tokens[bot.token] = bot
        return bot

    def create_group(self, title: str, *, supergroup: bool, forum: bool = False) -> Chat:
        if supergroup:
            chat_id = -(1_000_000_000_000 + next(self._supergroup_ids))
            chat = Chat(chat_id, ChatType.SUPERGROUP, title=title, is_forum=forum)
        else:
            chat = Chat(-next(self._group_ids), ChatType.GROUP, title=title)
        self.chats[chat.id] = chat
        return chat

    def migrate(self, group: Chat, *, forum: bool = False) -> Chat:
        """Upgrade a basic group to a supergroup: a new chat id, the same people."""
        if group.type is not ChatType.GROUP:
            raise ValueError("only basic groups are upgraded")
        supergroup = self.create_group(group.title or "", supergroup=True, forum=forum)
        supergroup.members = dict(group.members)
        group.migrated_to = supergroup.id
        for chat, field_name, other in (
            (group, "migrate_to_chat_id", supergroup.id),
            (supergroup, "migrate_from_chat_id", group.id),
        ):
            notice = Message(chat, chat.next_message_id(), None, extra={field_name: other})
            self.store(notice)
            self.deliver(notice)
        return supergroup

    def private_chat(self, user: User, bot: BotAccount) -> Chat:
        key = (user.id, bot.id)
        chat = self.private_chats.get(key)
        if chat is None:
            chat = Chat(
                user.id,
                ChatType.PRIVATE,
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
                user_id=user.id,
                bot_id=bot.id,
            )
            chat.members = {user.id: MemberStatus.MEMBER, bot.id: MemberStatus.MEMBER}
            self.private_chats[key] = chat
        return chat

    def next_media_group_id(self) -> str:
        return str(next(self._media_group_ids))

    def press(
        self,
        bot: BotAccount,
        user: User,
        message: Message,
        data: str,
        *,
        inaccessible: bool = False,
    ) -> dict[str, Any]:
        """A person pressed a button with `data` under a bot's message: a callback query.

        `inaccessible`: the message is too old for the bot (over 48 hours), so the query
        carries an InaccessibleMessage (chat, id and date 0) instead of the message.
        """
        query_id = str(next(self._callback_ids))
        shown = message.to_api()
        if inaccessible:
            shown = {"chat": shown["chat"], "message_id": message.message_id, "date": 0}
        query: dict[str, Any] = {
            "id": query_id,
            "from": user.to_api(),
            "message": shown,
            "chat_instance": str(abs(hash(message.chat.key))),
            "data": data,
        }
        bot.callbacks[query_id] = PendingCallback(query, message.chat, message.thread_id)
        bot.updates.push("callback_query", query)
        return query

    # -- lookups --------------------------------------------------------------------------------

    def bot_by_token(self, token: str) -> BotAccount | None:
        return self.tokens.get(token)

    def chat_for_bot(self, bot: BotAccount, chat_ref: int | str) -> Chat | None:
        """The chat a bot means by `chat_id`: a person's id, a group id or `@username`."""
        if isinstance(chat_ref, str):
            if chat_ref.startswith("@"):
                name = chat_ref[1:].lower()
                return next(
                    (c for c in self.chats.values() if (c.username or "").lower() == name), None
                )
            if not chat_ref.lstrip("-").isdigit():
                return None
            chat_ref = int(chat_ref)
        if chat_ref > 0:
            user = self.users.get(chat_ref)
            return self.private_chat(user, bot) if user and not user.is_bot else None
        return self.chats.get(chat_ref)

    # -- messages -------------------------------------------------------------------------------

    def store(self, message: Message) -> Message:
        """Keep a new message and tell the watchers (driver, control API)."""
        message.chat.messages[message.message_id] = message
        self.events.append(
            EventKind.MESSAGE,
            chat_key=message.chat.key,
            chat_id=message.chat.id,
            thread_id=message.thread_id,
            from_bot=message.from_bot,
            message=message.to_api(),
        )
        return message

    def edited(self, message: Message) -> None:
        self.events.append(
            EventKind.EDIT,
            chat_key=message.chat.key,
            chat_id=message.chat.id,
            thread_id=message.thread_id,
            from_bot=message.from_bot,
            message=message.to_api(),
        )

    def delete(self, message: Message) -> None:
        message.chat.messages.pop(message.message_id, None)
        self.events.append(
            EventKind.DELETE,
            chat_key=message.chat.key,
            chat_id=message.chat.id,
            thread_id=message.thread_id,
            from_bot=message.from_bot,
            message=message.to_api(),
        )

    def deliver(self, message: Message, *, edited: bool = False) -> None:
        """Queue a person's message as an update for every bot that may see it."""
        kind = "edited_message" if edited else "message"
        for bot in self.bots_seeing(message):
            bot.updates.push(kind, message.to_api())

    def bots_seeing(self, message: Message) -> list[BotAccount]:
        chat = message.chat
        if chat.type is ChatType.PRIVATE:
            bot = self.bots.get(chat.bot_id or 0)
            return [bot] if bot and not chat.blocked else []
        return [
            bot
            for bot_id, status in chat.members.items()
            if status.is_present
            and (bot := self.bots.get(bot_id)) is not None
            and bot.id != (message.sender.id if message.sender else 0)
            and _bot_reads(bot, status, message)
        ]


def _bot_reads(bot: BotAccount, status: MemberStatus, message: Message) -> bool:
    """Privacy mode: a plain member bot sees commands, replies to it, mentions, service messages."""
    if status.is_admin or bot.can_read_all_group_messages or message.is_service:
        return True
    text = message.text or message.caption or ""
    mention = f"@{bot.username}".lower()
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0].lower()
        return "@" not in command or command.endswith(mention)
    replied = message.reply_to
    if replied is not None and replied.sender is not None and replied.sender.id == bot.id:
        return not message.is_topic_message or replied.message_id != message.thread_id
    return mention in text.lower()
