"""Pieces every sending method shares: threads, replies, keyboards, files, posting."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlparse

from sandbox.errors import bad_request
from sandbox.files import FileKind, StoredFile, media_object
from sandbox.methods.call import Call
from sandbox.spec import Upload
from sandbox.state import Chat, ChatType, Message
from sandbox.tghtml import check_callback_data

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_DEFAULT_MIME = {
    FileKind.PHOTO: "image/jpeg",
    FileKind.VIDEO: "video/mp4",
    FileKind.VOICE: "audio/ogg",
    FileKind.AUDIO: "audio/mpeg",
    FileKind.ANIMATION: "video/mp4",
}
# Content fields a copy carries over (everything but service, forwarding and reply data).
COPYABLE_EXTRA = frozenset(
    {
        "location",
        "contact",
        "venue",
        "poll",
        "dice",
        "sticker",
        "video_note",
        "link_preview_options",
    }
)


def draft(call: Call, chat: Chat) -> Message:
    """A message from the bot into `chat` with thread, reply and markup checked, not yet stored."""
    thread_id, root = resolve_thread(call, chat)
    reply_to = resolve_reply(call, chat)
    if reply_to is not None and thread_id is None and chat.is_forum and reply_to.thread_id:
        thread_id, root = reply_to.thread_id, chat.messages.get(reply_to.thread_id)
    markup = call.mapping("reply_markup")
    if markup is not None:
        check_markup(markup)
    return Message(
        chat=chat,
        message_id=0,
        sender=call.bot.user,
        thread_id=thread_id,
        is_topic_message=chat.is_forum and thread_id is not None,
        reply_to=reply_to or root,
        reply_markup=markup if markup and "inline_keyboard" in markup else None,
        has_protected_content=call.flag("protect_content"),
        keyboard=markup if markup and "inline_keyboard" not in markup else None,
    )


def post(call: Call, message: Message) -> Message:
    message.message_id = message.chat.next_message_id()
    return call.world.store(message)


def resolve_thread(call: Call, chat: Chat) -> tuple[int | None, Message | None]:
    thread_id = call.optional_integer("message_thread_id")
    if thread_id is None:
        return None, None
    if chat.is_forum:
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise bad_request("message thread not found")
        if topic.closed and not chat.status_of(call.bot.id).is_admin:
            raise bad_request("TOPIC_CLOSED")
        return thread_id, chat.messages.get(thread_id)
    if chat.type is ChatType.SUPERGROUP and thread_id in chat.messages:
        return thread_id, None
    raise bad_request("message thread not found")


def resolve_reply(call: Call, chat: Chat) -> Message | None:
    params = call.mapping("reply_parameters")
    if params is None:
        return None
    target_chat = chat
    if params.get("chat_id") is not None:
        target_chat = call.world.chat_for_bot(call.bot, params["chat_id"]) or chat
    target = target_chat.messages.get(params.get("message_id", 0))
    if target is None and not params.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")
    return target


def check_markup(markup: dict[str, Any]) -> None:
    for row in markup.get("inline_keyboard", []):
        for button in row:
            check_inline_button(button)


def check_inline_button(button: dict[str, Any]) -> None:
    if not button.get("text"):
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(f"a button can have only one action, got {', '.join(actions)}")
    if "callback_data" in button:
        check_callback_data(button["callback_data"])
    if "url" in button:
        url = urlparse(button["url"])
        if url.scheme not in ("http", "https", "tg") or not (url.netloc or url.scheme == "tg"):
            raise bad_request("BUTTON_URL_INVALID")


def buttons_of(message: Message) -> list[dict[str, Any]]:
    markup = message.reply_markup or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


# -- files --------------------------------------------------------------------------------------


def input_file(
    call: Call, kind: FileKind, value: Upload | str, *, mime_type: str | None = None
) -> StoredFile:
    """The file behind an InputFile-or-String parameter: an upload, a file_id or a URL."""
    store = call.world.files
    if isinstance(value, Upload):
        return store.add(
            kind,
            value.data,
            file_name=value.filename,
            mime_type=mime_type or _mime(kind, value),
        )
    if value.startswith(("http://", "https://")):
        name = urlparse(value).path.rsplit("/", 1)[-1] or None
        return store.add(kind, b"", file_name=name, mime_type=_DEFAULT_MIME.get(kind))
    stored = store.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind and not (kind == FileKind.DOCUMENT and stored.kind != FileKind.PHOTO):
        raise bad_request("type of file mismatch")
    return stored


def _mime(kind: FileKind, upload: Upload) -> str | None:
    content_type = upload.content_type
    if content_type and content_type != "application/octet-stream":
        return content_type
    return _DEFAULT_MIME.get(kind, content_type)


def media_fields(call: Call, stored: StoredFile, kind: FileKind) -> dict[str, Any]:
    """The Message field (`photo`, `document`, ...) describing a file sent as `kind`."""
    if kind == FileKind.PHOTO:
        return {"photo": call.world.files.photo_sizes(stored)}
    described = stored if stored.kind == kind else _as_kind(stored, kind)
    return {kind.value: media_object(described)}


def _as_kind(stored: StoredFile, kind: FileKind) -> StoredFile:
    clone = copy.copy(stored)
    clone.kind = kind
    return clone


def copy_content(source: Message, target: Message) -> None:
    """Put what `source` shows (text or media and caption) into `target`."""
    target.text = source.text
    target.entities = copy.deepcopy(source.entities)
    target.caption = source.caption
    target.caption_entities = copy.deepcopy(source.caption_entities)
    target.media = copy.deepcopy(source.media)
    target.extra = {k: copy.deepcopy(v) for k, v in source.extra.items() if k in COPYABLE_EXTRA}


def can_be_copied(message: Message) -> bool:
    return not message.is_service and not message.has_protected_content
