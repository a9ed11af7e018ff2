"""Sending, copying, forwarding, editing and deleting messages; callback answers; files."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

from sandbox.errors import bad_request, forbidden
from sandbox.events import EventKind
from sandbox.files import FileKind
from sandbox.methods.call import Call, Handler
from sandbox.methods.common import (
    can_be_copied,
    check_markup,
    copy_content,
    draft,
    input_file,
    media_fields,
    post,
    resolve_thread,
)
from sandbox.spec import Upload
from sandbox.state import CallbackAnswer, Chat, Message, now
from sandbox.tghtml import FormattedText

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_CAPTIONED_MEDIA = frozenset({"photo", "video", "document", "audio", "animation", "voice"})
_GROUPABLE = {
    "photo": "visual",
    "video": "visual",
    "document": "document",
    "audio": "audio",
}


# -- sending ------------------------------------------------------------------------------------


async def send_message(call: Call) -> dict[str, Any]:
    chat = call.writable_chat()
    message = draft(call, chat)
    formatted = call.text()
    message.text, message.entities = formatted.text, formatted.entities
    if (preview := call.mapping("link_preview_options")) is not None:
        message.extra["link_preview_options"] = preview
    return post(call, message).to_api()


def _media_sender(kind: FileKind, param: str) -> Handler:
    async def send(call: Call) -> dict[str, Any]:
        chat = call.writable_chat()
        message = draft(call, chat)
        caption = call.caption() if kind != FileKind.STICKER else None
        stored = input_file(call, kind, call.upload_or_string(param))
        message.media = media_fields(call, stored, kind)
        if caption is not None:
            message.caption, message.caption_entities = caption.text, caption.entities
        return post(call, message).to_api()

    send.__name__ = f"send_{param}"
    return send


def _content_sender(build: Callable[[Call], dict[str, Any]]) -> Handler:
    """A sender of a message whose content is one Message field built from the parameters."""

    async def send(call: Call) -> dict[str, Any]:
        chat = call.writable_chat()
        message = draft(call, chat)
        message.extra.update(build(call))
        return post(call, message).to_api()

    return send


def _location(call: Call) -> dict[str, Any]:
    latitude, longitude = float(call.required("latitude")), float(call.required("longitude"))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong latitude or longitude")
    return {"location": {"latitude": latitude, "longitude": longitude}}


def _contact(call: Call) -> dict[str, Any]:
    contact = {"phone_number": call.string("phone_number"), "first_name": call.string("first_name")}
    if call.has("last_name"):
        contact["last_name"] = call.string("last_name")
    return {"contact": contact}


def _dice(call: Call) -> dict[str, Any]:
    emoji = call.get("emoji", "🎲")
    faces = {"🎰": 64, "🏀": 5, "⚽": 5, "🎳": 6, "🎯": 6, "🎲": 6}
    return {"dice": {"emoji": emoji, "value": random.randint(1, faces.get(emoji, 6))}}


async def send_media_group(call: Call) -> list[dict[str, Any]]:
    chat = call.writable_chat()
    items = call.sequence("media") or []
    if not 2 <= len(items) <= 10:
        raise bad_request("media group must contain 2-10 items")
    groups = {_GROUPABLE.get(item.get("type", ""), "other") for item in items}
    if len(groups) != 1 or "other" in groups:
        raise bad_request("documents and audio can't be mixed with other media in a media group")
    template = draft(call, chat)
    prepared = [_album_item(call, item) for item in items]
    group_id = call.world.next_media_group_id()
    sent = []
    for media, caption in prepared:
        message = draft(call, chat)
        message.thread_id, message.is_topic_message = template.thread_id, template.is_topic_message
        message.reply_to, message.media, message.media_group_id = template.reply_to, media, group_id
        if caption is not None:
            message.caption, message.caption_entities = caption.text, caption.entities
        sent.append(post(call, message).to_api())
    return sent


def _album_item(call: Call, item: dict[str, Any]) -> tuple[dict[str, Any], FormattedText | None]:
    try:
        kind = FileKind(item["type"])
    except ValueError:
        raise bad_request(f"the sandbox stand-in can't send {item['type']} in albums") from None
    reference = item.get("media")
    if isinstance(reference, str) and reference.startswith("attach://"):
        reference = call.uploads.get(reference.removeprefix("attach://"))
        if reference is None:
            raise bad_request(f"file {item['media']} is not attached to the request")
    if not isinstance(reference, Upload | str):
        raise bad_request("wrong file identifier/HTTP URL specified")
    stored = input_file(call, kind, reference)
    sub_call = Call(call.host, call.bot, call.method, item, call.uploads)
    return media_fields(call, stored, kind), sub_call.caption()


async def copy_message(call: Call) -> dict[str, Any]:
    chat = call.writable_chat()
    source = _source_message(call, call.integer("message_id"), "message to copy not found")
    if not can_be_copied(source):
        raise bad_request("message can't be copied")
    message = draft(call, chat)
    copy_content(source, message)
    # A new caption applies to media that can carry one; Telegram ignores it on a text.
    if _CAPTIONED_MEDIA & message.media.keys() and (
        call.has("caption") or call.flag("remove_caption")
    ):
        caption = call.caption() if call.has("caption") else None
        message.caption = caption.text if caption else None
        message.caption_entities = caption.entities if caption else []
    return {"message_id": post(call, message).message_id}


async def copy_messages(call: Call) -> list[dict[str, Any]]:
    chat = call.writable_chat()
    resolve_thread(call, chat)  # a deleted topic is refused even when nothing is copyable
    sources = _sources_in_order(call)
    sent = []
    regroup = _album_regrouper(call)
    for source in sources:
        if not can_be_copied(source):
            continue
        message = draft(call, chat)
        copy_content(source, message)
        if call.flag("remove_caption"):
            message.caption, message.caption_entities = None, []
        message.media_group_id = regroup(source)
        sent.append({"message_id": post(call, message).message_id})
    return sent


def _album_regrouper(call: Call) -> Callable[[Message], str | None]:
    """Album grouping is kept: items of one source album share one new media_group_id."""
    group_ids: dict[str, str] = {}

    def regroup(source: Message) -> str | None:
        if source.media_group_id is None:
            return None
        return group_ids.setdefault(source.media_group_id, call.world.next_media_group_id())

    return regroup


async def forward_message(call: Call) -> dict[str, Any]:
    chat = call.writable_chat()
    source = _source_message(call, call.integer("message_id"), "message to forward not found")
    if source.is_service or source.has_protected_content:
        raise bad_request("message can't be forwarded")
    return post(call, _forward(call, chat, source)).to_api()


async def forward_messages(call: Call) -> list[dict[str, Any]]:
    chat = call.writable_chat()
    resolve_thread(call, chat)
    sent = []
    regroup = _album_regrouper(call)
    for source in _sources_in_order(call):
        if source.is_service or source.has_protected_content:
            continue
        message = _forward(call, chat, source)
        message.media_group_id = regroup(source)
        sent.append({"message_id": post(call, message).message_id})
    return sent


def _forward(call: Call, chat: Chat, source: Message) -> Message:
    message = draft(call, chat)
    copy_content(source, message)
    message.forward_origin = source.forward_origin or _origin(source)
    return message


def _origin(source: Message) -> dict[str, Any]:
    if source.sender is None:
        return {"type": "chat", "date": source.date, "sender_chat": source.chat.to_api()}
    return {"type": "user", "date": source.date, "sender_user": source.sender.to_api()}


def _source_message(call: Call, message_id: int, missing: str) -> Message:
    source_chat = call.chat("from_chat_id")
    return call.message_in(source_chat, message_id, missing)


def _sources_in_order(call: Call) -> list[Message]:
    ids = call.sequence("message_ids") or []
    if not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must hold 1-100 identifiers")
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise bad_request("message identifiers must be in strictly increasing order")
    source_chat = call.chat("from_chat_id")
    return [source_chat.messages[i] for i in ids if i in source_chat.messages]


# -- editing and deleting -----------------------------------------------------------------------


def _editable(call: Call) -> Message:
    if call.has("inline_message_id"):
        raise bad_request("the sandbox stand-in has no inline messages")
    chat = call.chat()
    if chat.blocked:
        raise forbidden("bot was blocked by the user")
    message = call.message_in(chat, call.integer("message_id"), "message to edit not found")
    if message.sender is None or message.sender.id != call.bot.id:
        raise bad_request("message can't be edited")
    return message


def _markup_param(call: Call) -> dict[str, Any] | None:
    markup = call.mapping("reply_markup")
    if markup is not None:
        check_markup(markup)
    return markup or None


def _apply_edit(call: Call, message: Message, changes: dict[str, Any]) -> dict[str, Any]:
    if all(getattr(message, key) == value for key, value in changes.items()):
        raise bad_request(_NOT_MODIFIED)
    for key, value in changes.items():
        setattr(message, key, value)
    message.edit_date = now()
    call.world.edited(message)
    return message.to_api()


async def edit_message_text(call: Call) -> dict[str, Any]:
    message = _editable(call)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    formatted = call.text()
    # Without reply_markup Telegram removes the inline keyboard.
    changes = {
        "text": formatted.text,
        "entities": formatted.entities,
        "reply_markup": _markup_param(call),
    }
    return _apply_edit(call, message, changes)


async def edit_message_caption(call: Call) -> dict[str, Any]:
    message = _editable(call)
    if not message.media:
        raise bad_request("there is no caption in the message to edit")
    caption = call.caption()
    changes = {
        "caption": caption.text if caption else None,
        "caption_entities": caption.entities if caption else [],
        "reply_markup": _markup_param(call),
    }
    return _apply_edit(call, message, changes)


async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    message = _editable(call)
    return _apply_edit(call, message, {"reply_markup": _markup_param(call)})


async def delete_message(call: Call) -> bool:
    chat = call.chat()
    message = call.message_in(chat, call.integer("message_id"), "message to delete not found")
    _check_deletable(call, chat, message)
    call.world.delete(message)
    return True


async def delete_messages(call: Call) -> bool:
    chat = call.chat()
    ids = call.sequence("message_ids") or []
    if not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must hold 1-100 identifiers")
    for message_id in ids:
        message = chat.messages.get(message_id)
        if message is not None:
            _check_deletable(call, chat, message)
            call.world.delete(message)
    return True


def _check_deletable(call: Call, chat: Chat, message: Message) -> None:
    own = message.sender is not None and message.sender.id == call.bot.id
    if own or chat.user_id is not None or chat.status_of(call.bot.id).is_admin:
        if message.extra.get("forum_topic_created") is None:
            return
    raise bad_request("message can't be deleted")


# -- callbacks, actions, reactions, files -------------------------------------------------------


async def answer_callback_query(call: Call) -> bool:
    query_id = call.string("callback_query_id")
    pending = call.bot.callbacks.get(query_id)
    if pending is None or pending.answer is not None:
        raise bad_request(_QUERY_INVALID)
    text = call.optional_string("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    pending.answer = CallbackAnswer(
        text,
        show_alert=call.flag("show_alert"),
        url=call.optional_string("url"),
        cache_time=call.optional_integer("cache_time") or 0,
    )
    call.world.events.append(
        EventKind.CALLBACK_ANSWER,
        chat_key=pending.chat.key,
        chat_id=pending.chat.id,
        thread_id=pending.thread_id,
        from_bot=True,
        callback_query_id=query_id,
        text=text,
        show_alert=pending.answer.show_alert,
    )
    return True


async def send_chat_action(call: Call) -> bool:
    chat = call.writable_chat()
    action = call.string("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    thread_id, _ = resolve_thread(call, chat)
    call.world.events.append(
        EventKind.CHAT_ACTION,
        chat_key=chat.key,
        chat_id=chat.id,
        thread_id=thread_id,
        from_bot=True,
        action=action,
    )
    return True


async def set_message_reaction(call: Call) -> bool:
    chat = call.chat()
    message = call.message_in(chat, call.integer("message_id"), "MESSAGE_ID_INVALID")
    reaction = call.sequence("reaction") or []
    if len(reaction) > 1:
        raise bad_request("REACTIONS_TOO_MANY")
    call.world.events.append(
        EventKind.REACTION,
        chat_key=chat.key,
        chat_id=chat.id,
        thread_id=message.thread_id,
        from_bot=True,
        message=message.to_api(),
        reaction=reaction,
    )
    return True


async def get_file(call: Call) -> dict[str, Any]:
    stored = call.world.files.get(call.string("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return stored.to_api()


HANDLERS: dict[str, Handler] = {
    "sendMessage": send_message,
    "sendPhoto": _media_sender(FileKind.PHOTO, "photo"),
    "sendDocument": _media_sender(FileKind.DOCUMENT, "document"),
    "sendVideo": _media_sender(FileKind.VIDEO, "video"),
    "sendVoice": _media_sender(FileKind.VOICE, "voice"),
    "sendAudio": _media_sender(FileKind.AUDIO, "audio"),
    "sendAnimation": _media_sender(FileKind.ANIMATION, "animation"),
    "sendSticker": _media_sender(FileKind.STICKER, "sticker"),
    "sendMediaGroup": send_media_group,
    "sendLocation": _content_sender(_location),
    "sendContact": _content_sender(_contact),
    "sendDice": _content_sender(_dice),
    "copyMessage": copy_message,
    "copyMessages": copy_messages,
    "forwardMessage": forward_message,
    "forwardMessages": forward_messages,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
    "setMessageReaction": set_message_reaction,
    "getFile": get_file,
}
