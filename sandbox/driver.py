"""The test driver: act as people (write, press buttons, send files) and wait for the bot.

Everything here runs in-process on the stand-in's state; waiting is event-driven (the event log
wakes waiters), never a sleep loop. Each driver keeps FIFO cursors, so `expect_message` returns
each bot message once, in order.
"""

# The driver's waits take `timeout=` by design: it is the interface the tests are written in.
# ruff: noqa: ASYNC109

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.events import Event, EventKind
from sandbox.files import FileKind, media_object
from sandbox.methods.bot import scope_key
from sandbox.methods.chats import chat_member, my_chat_member_update
from sandbox.methods.common import buttons_of
from sandbox.state import (
    BotAccount,
    CallbackAnswer,
    Chat,
    ChatType,
    MemberStatus,
    Message,
    User,
    is_service_message,
    now,
)
from sandbox.tghtml import FormattedText, detect_entities

if TYPE_CHECKING:
    from sandbox.server import StandIn

DEFAULT_TIMEOUT = 5.0
_ALBUM_KINDS = {"photo": FileKind.PHOTO, "video": FileKind.VIDEO, "document": FileKind.DOCUMENT}
_GAME_PHOTO = {"file_id": "AgACAgIAAxkB", "file_unique_id": "AQADgame", "width": 640, "height": 360}

# One valid sample of each kind of content a person sends that is neither text nor an uploaded
# file, as Message fields (`UserDriver.send_content`). Files: `UserDriver.send_file`.
CONTENT_SAMPLES: dict[str, dict[str, Any]] = {
    "location": {"location": {"latitude": 43.238949, "longitude": 76.889709}},
    "venue": {
        "location": {"latitude": 43.2567, "longitude": 76.9286},
        "venue": {
            "location": {"latitude": 43.2567, "longitude": 76.9286},
            "title": "Barakholka market",
            "address": "Almaty, Kazakhstan",
        },
    },
    "contact": {"contact": {"phone_number": "+77011234567", "first_name": "Aigerim"}},
    "poll": {
        "poll": {
            "id": "5408840977187405825",
            "question": "Is this a fake?",
            "options": [
                {"persistent_id": "0", "text": "Yes", "voter_count": 0},
                {"persistent_id": "1", "text": "No", "voter_count": 0},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,
            "members_only": False,
        }
    },
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
    "game": {
        "game": {"title": "Lumberjack", "description": "Chop wood", "photo": [_GAME_PHOTO]},
    },
    "video_note": {
        "video_note": {
            "file_id": "DQACAgIAAxkBAAIG",
            "file_unique_id": "AgADvideonote",
            "length": 240,
            "duration": 3,
        }
    },
}


class _Waiter:
    """FIFO cursors over the stand-in's event log, one per kind of expectation."""

    def __init__(self, stand: StandIn, name: str) -> None:
        self.stand = stand
        self.name = name
        self.cursors: dict[tuple[Any, ...], int] = {}

    async def next(
        self,
        cursor: tuple[Any, ...],
        match: Callable[[Event], bool],
        timeout: float,
        what: str,
    ) -> Event:
        log = self.stand.world.events
        start = self.cursors.get(cursor, 0)
        found: list[Event] = []

        def ready() -> bool:
            event = log.find(start, match)
            if event is not None:
                found.append(event)
            return event is not None

        if not await log.pulse.wait_until(ready, timeout):
            raise AssertionError(self.report(f"no {what} within {timeout}s", match))
        self.cursors[cursor] = found[0].seq
        return found[0]

    async def nothing(
        self, cursor: tuple[Any, ...], match: Callable[[Event], bool], within: float, what: str
    ) -> None:
        log = self.stand.world.events
        start = self.cursors.get(cursor, 0)
        if await log.pulse.wait_until(lambda: log.find(start, match) is not None, within):
            event = log.find(start, match)
            assert event is not None
            raise AssertionError(f"{self.name}: expected no {what}, got {_describe(event)}")

    def report(self, problem: str, match: Callable[[Event], bool]) -> str:
        seen = [_describe(e) for e in self.stand.world.events.events if match(e)]
        failed = [
            f"{r.method} -> {r.response.get('error_code')} {r.response.get('description')}"
            for r in self.stand.requests[-10:]
            if not r.ok
        ]
        lines = [f"{self.name}: {problem}.", "Everything that matched so far (consumed or not):"]
        lines += [f"  - {line}" for line in seen] or ["  (nothing)"]
        if failed:
            lines += ["Recent failed bot requests:", *[f"  - {line}" for line in failed]]
        if self.stand.violations:
            lines += ["Spec violations:", *[f"  - {v}" for v in self.stand.violations[-5:]]]
        return "\n".join(lines)


def _describe(event: Event) -> str:
    message = event.message or {}
    body = message.get("text") or message.get("caption") or _media_kind(message) or event.data
    return (
        f"{event.kind.value} #{message.get('message_id', '-')}: {textwrap.shorten(str(body), 120)}"
    )


def _media_kind(message: dict[str, Any]) -> str | None:
    for key in ("photo", "document", "video", "voice", "audio", "sticker", "animation"):
        if key in message:
            return f"<{key}>"
    return None


def _bot_event(
    chat: Chat, kind: EventKind, thread_id: int | None = None
) -> Callable[[Event], bool]:
    """Events the bot caused in `chat` (service messages such as "topic created" excluded)."""

    def match(event: Event) -> bool:
        return (
            event.kind is kind
            and event.from_bot
            and event.chat_key == chat.key
            and (thread_id is None or event.thread_id == thread_id)
            and not (kind is EventKind.MESSAGE and is_service_message(event.message or {}))
        )

    return match


class UserDriver:
    """One person: writes to bots and groups, presses buttons, blocks bots."""

    def __init__(self, stand: StandIn, user: User) -> None:
        self.stand = stand
        self.user = user
        self.callback_answers: list[CallbackAnswer] = []
        self._waiter = _Waiter(stand, f"user {user.first_name} ({user.id})")
        self._last_press: tuple[BotAccount, str] | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def chat_id(self) -> int:
        """The id of this person's private chat with any bot: their own id."""
        return self.user.id

    @property
    def language_code(self) -> str | None:
        return self.user.language_code

    @language_code.setter
    def language_code(self, value: str | None) -> None:
        self.user.language_code = value

    def bot(self, bot: BotAccount | None = None) -> BotAccount:
        if bot is not None:
            return bot
        bots = list(self.stand.world.bots.values())
        if len(bots) != 1:
            raise AssertionError(f"{len(bots)} bots exist; pass bot= to choose one")
        return bots[0]

    def private_chat(self, bot: BotAccount | None = None) -> Chat:
        return self.stand.world.private_chat(self.user, self.bot(bot))

    # -- writing ------------------------------------------------------------------------------

    async def send(
        self,
        text: str,
        *,
        chat: GroupDriver | None = None,
        thread_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        bot: BotAccount | None = None,
    ) -> dict[str, Any]:
        """Write a text message (commands get their bot_command entity, as in Telegram)."""
        formatted = detect_entities(FormattedText(text, list(entities or [])))
        message = self._new_message(chat, thread_id, reply_to, bot)
        message.text, message.entities = formatted.text, formatted.entities
        return self._publish(message)

    async def send_photo(
        self, data: bytes, caption: str | None = None, **where: Any
    ) -> dict[str, Any]:
        return (await self._send_files([(FileKind.PHOTO, data, None, None)], caption, **where))[0]

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        **where: Any,
    ) -> dict[str, Any]:
        files = [(FileKind.DOCUMENT, data, file_name, mime_type)]
        return (await self._send_files(files, caption, **where))[0]

    async def send_album(
        self, items: Sequence[tuple[str, bytes]], caption: str | None = None, **where: Any
    ) -> list[dict[str, Any]]:
        """Several messages sharing one media_group_id, each its own update (as Telegram does)."""
        if not 2 <= len(items) <= 10:
            raise ValueError("an album holds 2-10 items")
        files = [
            (_ALBUM_KINDS[kind], data, f"file{i}.bin" if kind == "document" else None, None)
            for i, (kind, data) in enumerate(items, 1)
        ]
        return await self._send_files(files, caption, **where)

    async def send_files(
        self,
        files: Sequence[tuple[FileKind, bytes, str | None, str | None]],
        caption: str | None = None,
        **where: Any,
    ) -> list[dict[str, Any]]:
        """Files as a person attaches them: (kind, data, file name, MIME type) each; several
        (2-10) go as one album, the caption on the first item."""
        if not 1 <= len(files) <= 10:
            raise ValueError("attach 1-10 files at once")
        return await self._send_files(files, caption, **where)

    async def send_raw(
        self,
        *,
        chat: GroupDriver | None = None,
        thread_id: int | None = None,
        bot: BotAccount | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A message with arbitrary Message fields (sticker=..., location=..., contact=...).

        The fields are checked against the spec first: a malformed one fails right here.
        """
        message = self._new_message(chat, thread_id, None, bot)
        if "text" in fields:
            formatted = detect_entities(FormattedText(fields.pop("text"), []))
            message.text, message.entities = formatted.text, formatted.entities
        message.extra.update(fields)
        if self.stand.spec is not None:
            message.message_id = message.chat.last_message_id + 1
            if problems := self.stand.spec.check_object("Message", message.to_api()):
                raise AssertionError("send_raw: not a valid Message: " + "; ".join(problems))
        return self._publish(message)

    async def send_content(self, kind: str, **where: Any) -> dict[str, Any]:
        """A location, venue, contact, poll, dice, game or video note (CONTENT_SAMPLES)."""
        return await self.send_raw(**copy.deepcopy(CONTENT_SAMPLES[kind]), **where)

    async def send_file(
        self, kind: FileKind | str, data: bytes, caption: str | None = None, **where: Any
    ) -> dict[str, Any]:
        """One file of any kind: photo, document, video, voice, audio, animation, sticker."""
        kind = FileKind(kind)
        file_name = "file.bin" if kind in (FileKind.DOCUMENT, FileKind.AUDIO) else None
        if kind is FileKind.STICKER:
            caption = None  # stickers carry none
        return (await self._send_files([(kind, data, file_name, None)], caption, **where))[0]

    async def send_forwarded(
        self,
        text: str,
        *,
        origin: UserDriver | None = None,
        hidden_name: str | None = None,
        chat: GroupDriver | None = None,
        thread_id: int | None = None,
        bot: BotAccount | None = None,
    ) -> dict[str, Any]:
        """Forward a text written by `origin` (or by someone whose account is hidden)."""
        formatted = detect_entities(FormattedText(text, []))
        message = self._new_message(chat, thread_id, None, bot)
        message.text, message.entities = formatted.text, formatted.entities
        date = now() - 3600
        if origin is not None:
            message.forward_origin = {
                "type": "user",
                "date": date,
                "sender_user": origin.user.to_api(),
            }
        else:
            message.forward_origin = {
                "type": "hidden_user",
                "date": date,
                "sender_user_name": hidden_name or "Hidden",
            }
        return self._publish(message)

    async def edit(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit one of this person's text messages: the bot gets an edited_message update."""
        stored = self.current(message)
        if stored.sender is not self.user or stored.text is None:
            raise AssertionError("only one's own text messages can be edited")
        formatted = detect_entities(FormattedText(text, []))
        stored.text, stored.entities, stored.edit_date = formatted.text, formatted.entities, now()
        self.stand.world.edited(stored)
        self.stand.world.deliver(stored, edited=True)
        return stored.to_api()

    async def _send_files(
        self,
        files: Sequence[tuple[FileKind, bytes, str | None, str | None]],
        caption: str | None,
        *,
        chat: GroupDriver | None = None,
        thread_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        bot: BotAccount | None = None,
    ) -> list[dict[str, Any]]:
        world = self.stand.world
        group_id = world.next_media_group_id() if len(files) > 1 else None
        sent = []
        for index, (kind, data, file_name, mime_type) in enumerate(files):
            stored = world.files.add(kind, data, file_name=file_name, mime_type=mime_type)
            message = self._new_message(chat, thread_id, reply_to, bot)
            message.media_group_id = group_id
            if kind == FileKind.PHOTO:
                message.media = {"photo": world.files.photo_sizes(stored)}
            else:
                message.media = {kind: media_object(stored)}
            if caption is not None and index == 0:
                formatted = detect_entities(FormattedText(caption, []))
                message.caption, message.caption_entities = formatted.text, formatted.entities
            sent.append(self._publish(message))
        return sent

    def _new_message(
        self,
        group: GroupDriver | None,
        thread_id: int | None,
        reply_to: dict[str, Any] | None,
        bot: BotAccount | None,
    ) -> Message:
        chat = group.chat if group is not None else self.private_chat(bot)
        if group is not None and not chat.status_of(self.id).is_present:
            raise AssertionError(f"{self.user.first_name} is not a member of {chat.title}")
        root = None
        if thread_id is not None:
            if thread_id not in chat.topics:
                raise AssertionError(f"no topic {thread_id} in {chat.title}")
            root = chat.messages.get(thread_id)
        replied = self.current(reply_to) if reply_to is not None else None
        return Message(
            chat=chat,
            message_id=0,
            sender=self.user,
            thread_id=thread_id,
            is_topic_message=thread_id is not None,
            reply_to=replied or root,
        )

    def _publish(self, message: Message) -> dict[str, Any]:
        chat = message.chat
        if chat.type is ChatType.PRIVATE:
            chat.started = True
        message.message_id = chat.next_message_id()
        self.stand.world.store(message)
        self.stand.world.deliver(message)
        return message.to_api()

    def current(self, message: dict[str, Any]) -> Message:
        chat = self._chat_of(message)
        stored = chat.messages.get(message["message_id"])
        if stored is None:
            raise AssertionError(f"message {message['message_id']} no longer exists")
        return stored

    def _chat_of(self, message: dict[str, Any]) -> Chat:
        chat_id = message["chat"]["id"]
        if chat_id < 0:
            return self.stand.world.chats[chat_id]
        sender = message.get("from", {})
        bot = self.stand.world.bots.get(sender.get("id", 0))
        return self.private_chat(bot)

    # -- waiting for the bot ------------------------------------------------------------------

    async def expect_message(
        self, timeout: float = DEFAULT_TIMEOUT, *, bot: BotAccount | None = None
    ) -> dict[str, Any]:
        """The next message the bot sent to this person, not returned before."""
        chat = self.private_chat(bot)
        match = _bot_event(chat, EventKind.MESSAGE)
        event = await self._waiter.next((chat.key, "message"), match, timeout, "bot message")
        assert event.message is not None
        return event.message

    async def expect_messages(
        self, count: int, timeout: float = DEFAULT_TIMEOUT, *, bot: BotAccount | None = None
    ) -> list[dict[str, Any]]:
        return [await self.expect_message(timeout, bot=bot) for _ in range(count)]

    async def expect_no_message(
        self, within: float = 0.3, *, bot: BotAccount | None = None
    ) -> None:
        chat = self.private_chat(bot)
        match = _bot_event(chat, EventKind.MESSAGE)
        await self._waiter.nothing((chat.key, "message"), match, within, "bot message")

    def reply_keyboard(self, bot: BotAccount | None = None) -> dict[str, Any] | None:
        """The reply keyboard the bot shows this person now (None: none, or removed)."""
        chat = self.private_chat(bot)
        for message in sorted(chat.messages.values(), key=lambda m: -m.message_id):
            if message.keyboard is not None:
                return message.keyboard if "keyboard" in message.keyboard else None
        return None

    async def expect_edit(
        self, timeout: float = DEFAULT_TIMEOUT, *, bot: BotAccount | None = None
    ) -> dict[str, Any]:
        """The next edit of a bot message in this person's chat (text, caption or keyboard)."""
        chat = self.private_chat(bot)
        match = _bot_event(chat, EventKind.EDIT)
        event = await self._waiter.next((chat.key, "edit"), match, timeout, "edit")
        assert event.message is not None
        return event.message

    # -- buttons ------------------------------------------------------------------------------

    async def press(
        self,
        message: dict[str, Any],
        text: str | None = None,
        *,
        callback_data: str | None = None,
        forged: str | None = None,
        inaccessible: bool = False,
    ) -> dict[str, Any]:
        """Press an inline button of a bot message, found by its text or its callback_data.

        Uses the message as it is now (after any edits), as a person sees it. `forged` sends
        that callback data from the message whatever its buttons say, as a tampered client can.
        `inaccessible` presses it as if the message were over 48 hours old.
        """
        stored = self.current(message)
        if forged is not None:
            button = {"text": "", "callback_data": forged}
        else:
            button = _find_button(stored, text, callback_data)
        if "callback_data" not in button:
            raise AssertionError(f"button {button['text']!r} sends no callback (it is {button})")
        bot = self.stand.world.bots.get(stored.sender.id if stored.sender else 0)
        if bot is None:
            raise AssertionError("the message was not sent by a bot")
        query = self.stand.world.press(
            bot, self.user, stored, button["callback_data"], inaccessible=inaccessible
        )
        self._last_press = (bot, query["id"])
        return query

    async def expect_callback_answer(self, timeout: float = DEFAULT_TIMEOUT) -> str | None:
        """The answerCallbackQuery text for the last press (None: answered without text).

        The whole answer (show_alert, url) is appended to `callback_answers`.
        """
        if self._last_press is None:
            raise AssertionError("no button was pressed")
        bot, query_id = self._last_press
        pending = bot.callbacks[query_id]

        def answered(event: Event) -> bool:
            return (
                event.kind is EventKind.CALLBACK_ANSWER
                and event.data.get("callback_query_id") == query_id
            )

        await self._waiter.next(("callback", query_id), answered, timeout, "callback answer")
        assert pending.answer is not None
        self.callback_answers.append(pending.answer)
        return pending.answer.text

    # -- relations with bots ------------------------------------------------------------------

    def block_bot(self, bot: BotAccount | None = None) -> None:
        self._set_blocked(self.bot(bot), True)

    def unblock_bot(self, bot: BotAccount | None = None) -> None:
        self._set_blocked(self.bot(bot), False)

    def _set_blocked(self, bot: BotAccount, blocked: bool) -> None:
        chat = self.private_chat(bot)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot.updates.push(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": self.user.to_api(),
                "date": now(),
                "old_chat_member": _private_member(bot, old),
                "new_chat_member": _private_member(bot, new),
            },
        )

    def visible_commands(
        self, chat: GroupDriver | None = None, *, bot: BotAccount | None = None
    ) -> list[dict[str, Any]]:
        """The command menu this person sees, by Telegram's scope and language rules."""
        account = self.bot(bot)
        language = self.user.language_code or ""
        for key in self._scopes(chat):
            for lang in dict.fromkeys((language, "")):
                if (commands := account.commands.get((key, lang))) is not None:
                    return commands
        return []

    def _scopes(self, group: GroupDriver | None) -> list[str]:
        if group is None:
            return [scope_key("chat", self.id), "all_private_chats", "default"]
        chat_id, admin = group.id, group.chat.status_of(self.id).is_admin
        scopes = [scope_key("chat_member", chat_id, self.id)]
        scopes += [scope_key("chat_administrators", chat_id)] if admin else []
        scopes += [scope_key("chat", chat_id)]
        scopes += ["all_chat_administrators"] if admin else []
        return [*scopes, "all_group_chats", "default"]


def _private_member(bot: BotAccount, status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": bot.user.to_api()}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _find_button(message: Message, text: str | None, callback_data: str | None) -> dict[str, Any]:
    buttons = buttons_of(message)
    for button in buttons:
        if (text is not None and button.get("text") == text) or (
            callback_data is not None and button.get("callback_data") == callback_data
        ):
            return button
    shown = ", ".join(repr(b.get("text")) for b in buttons) or "none"
    wanted = text if text is not None else f"callback_data={callback_data!r}"
    raise AssertionError(f"no button {wanted!r} on message {message.message_id}; buttons: {shown}")


class GroupDriver:
    """A group or supergroup (maybe a forum) as seen by its members."""

    def __init__(self, stand: StandIn, chat: Chat) -> None:
        self.stand = stand
        self.chat = chat
        self._waiter = _Waiter(stand, f"group {chat.title} ({chat.id})")

    @property
    def id(self) -> int:
        return self.chat.id

    @property
    def title(self) -> str:
        return self.chat.title or ""

    def add_member(self, user: UserDriver, status: str = "member") -> None:
        self.chat.members[user.id] = MemberStatus(status)

    def add_bot(self, bot: BotAccount, status: str = "administrator") -> None:
        self.chat.members[bot.id] = MemberStatus(status)

    def invite_bot(self, bot: BotAccount, by: UserDriver, status: str = "member") -> None:
        """`by` adds the bot, as in Telegram: the bot gets `my_chat_member` (left -> `status`)
        and the "joined" service message."""
        old = chat_member(self.chat, bot.user)
        self.chat.members[bot.id] = MemberStatus(status)
        bot.updates.push("my_chat_member", my_chat_member_update(self.chat, bot, by.user, old))
        joined = Message(
            self.chat,
            self.chat.next_message_id(),
            by.user,
            extra={"new_chat_members": [bot.user.to_api()]},
        )
        self.stand.world.store(joined)
        self.stand.world.deliver(joined)

    def migrate_to_supergroup(self, *, forum: bool = False) -> GroupDriver:
        """Upgrade this basic group (as turning on topics does): the chat gets a new id."""
        return GroupDriver(self.stand, self.stand.world.migrate(self.chat, forum=forum))

    def topics(self) -> list[dict[str, Any]]:
        return [topic.to_api() for topic in self.chat.topics.values()]

    def topic_id(self, name: str) -> int:
        for topic in self.chat.topics.values():
            if topic.name == name:
                return topic.thread_id
        raise AssertionError(f"no topic {name!r} in {self.title}; topics: {self.topics()}")

    def messages(self, thread_id: int | None = None) -> list[dict[str, Any]]:
        return self.stand.chat_messages(self.id, thread_id)

    async def expect_message(
        self, thread_id: int | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """The next bot message here (in topic `thread_id`, or anywhere when None)."""
        match = _bot_event(self.chat, EventKind.MESSAGE, thread_id)
        event = await self._waiter.next(("message", thread_id), match, timeout, "bot message")
        assert event.message is not None
        return event.message

    async def expect_messages(
        self, count: int, thread_id: int | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> list[dict[str, Any]]:
        return [await self.expect_message(thread_id, timeout) for _ in range(count)]

    async def expect_no_message(self, within: float = 0.3, thread_id: int | None = None) -> None:
        match = _bot_event(self.chat, EventKind.MESSAGE, thread_id)
        await self._waiter.nothing(("message", thread_id), match, within, "bot message")

    async def expect_edit(
        self, thread_id: int | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        match = _bot_event(self.chat, EventKind.EDIT, thread_id)
        event = await self._waiter.next(("edit", thread_id), match, timeout, "edit")
        assert event.message is not None
        return event.message
