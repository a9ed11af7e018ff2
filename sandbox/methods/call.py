"""One Bot API call as method handlers see it, with typed parameter access and shared checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.errors import bad_request, forbidden
from sandbox.spec import Upload
from sandbox.state import BotAccount, Chat, ChatType, Message, World
from sandbox.tghtml import FormattedText, caption_text, message_text


class Host(Protocol):
    """What handlers need from the server beyond the world itself."""

    world: World
    strict: bool
    closing: bool

    def webhook_changed(self, bot: BotAccount) -> None: ...


@dataclass
class Call:
    host: Host
    bot: BotAccount
    method: str
    params: dict[str, Any]
    uploads: Mapping[str, Upload] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.host.world

    # -- parameters -----------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return self.params.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value

    def required(self, name: str) -> Any:
        if not self.has(name):
            raise bad_request(f"{name} is empty")
        return self.params[name]

    def integer(self, name: str) -> int:
        return _as_int(name, self.required(name))

    def optional_integer(self, name: str) -> int | None:
        return _as_int(name, self.params[name]) if self.has(name) else None

    def string(self, name: str) -> str:
        value = self.required(name)
        if not isinstance(value, str):
            raise bad_request(f"{name} must be a string")
        return value

    def optional_string(self, name: str) -> str | None:
        return self.string(name) if self.has(name) else None

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.get(name)
        if value is not None and not isinstance(value, dict):
            raise bad_request(f"can't parse {name} JSON object")
        return value

    def sequence(self, name: str) -> list[Any] | None:
        value = self.get(name)
        if value is not None and not isinstance(value, list):
            raise bad_request(f"can't parse {name} JSON array")
        return value

    def upload_or_string(self, name: str) -> Upload | str:
        value = self.required(name)
        if not isinstance(value, Upload | str):
            raise bad_request(f"wrong type of the {name} parameter")
        return value

    # -- formatting -----------------------------------------------------------------------------

    def resolve_user(self, user_id: int) -> dict[str, Any] | None:
        user = self.world.users.get(user_id)
        return user.to_api() if user else None

    def text(self, name: str = "text", entities: str = "entities") -> FormattedText:
        return message_text(
            self.string(name),
            parse_mode=self.optional_string("parse_mode"),
            entities=self.sequence(entities),
            resolve_user=self.resolve_user,
            strict=self.host.strict,
        )

    def caption(self, name: str = "caption") -> FormattedText | None:
        return caption_text(
            self.optional_string(name),
            parse_mode=self.optional_string("parse_mode"),
            entities=self.sequence("caption_entities"),
            resolve_user=self.resolve_user,
            strict=self.host.strict,
        )

    # -- chats and messages -----------------------------------------------------------------------

    def chat(self, name: str = "chat_id") -> Chat:
        """The chat the bot names, which it must be able to see."""
        ref = self.required(name)
        chat = self.world.chat_for_bot(self.bot, ref)
        if chat is None:
            raise bad_request("chat not found")
        _check_migrated(chat)
        if chat.type is not ChatType.PRIVATE and not chat.status_of(self.bot.id).is_present:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, name: str = "chat_id") -> Chat:
        """The chat the bot wants to post in, with Telegram's refusals."""
        ref = self.required(name)
        chat = self.world.chat_for_bot(self.bot, ref)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type is ChatType.PRIVATE:
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        _check_migrated(chat)
        status = chat.status_of(self.bot.id)
        if not status.is_present:
            kind = "supergroup" if chat.type is ChatType.SUPERGROUP else "group"
            if status.value == "kicked":
                raise forbidden(f"bot was kicked from the {kind} chat")
            raise forbidden(f"bot is not a member of the {kind} chat")
        return chat

    def message_in(self, chat: Chat, message_id: int, missing: str) -> Message:
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request(missing)
        return message


Handler = Callable[[Call], Awaitable[Any]]


def _check_migrated(chat: Chat) -> None:
    if chat.migrated_to is not None:
        raise bad_request(
            "group chat was upgraded to a supergroup chat", migrate_to_chat_id=chat.migrated_to
        )


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise bad_request(f"{name} must be an integer")
