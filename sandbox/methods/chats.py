"""Chats, their members and forum topics."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.call import Call, Handler
from sandbox.methods.common import post
from sandbox.state import (
    FORUM_ICON_COLORS,
    BotAccount,
    Chat,
    ChatType,
    ForumTopic,
    MemberStatus,
    Message,
    User,
    now,
)

_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
_RESTRICTIONS = dict.fromkeys(
    (
        "can_send_messages",
        "can_send_audios",
        "can_send_documents",
        "can_send_photos",
        "can_send_videos",
        "can_send_video_notes",
        "can_send_voice_notes",
        "can_send_polls",
        "can_send_other_messages",
        "can_add_web_page_previews",
        "can_react_to_messages",
        "can_edit_tag",
        "can_change_info",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
    ),
    False,
)
_TOPIC_NOT_MODIFIED = "TOPIC_NOT_MODIFIED"


def chat_member(chat: Chat, user: User) -> dict[str, Any]:
    """The ChatMember object (the right subtype for the status) of `user` in `chat`."""
    status = chat.status_of(user.id)
    member: dict[str, Any] = {"status": status.value, "user": user.to_api()}
    if status is MemberStatus.CREATOR:
        member["is_anonymous"] = False
    elif status is MemberStatus.ADMINISTRATOR:
        member.update(
            _ADMIN_RIGHTS, can_send_welcome_messages=False
        )  # see OBJECT_FIELDS_BEYOND_SPEC
        if chat.is_forum:
            member["can_manage_topics"] = True
    elif status is MemberStatus.RESTRICTED:
        member.update(is_member=True, until_date=0, **_RESTRICTIONS)
    elif status is MemberStatus.KICKED:
        member["until_date"] = 0
    return member


def my_chat_member_update(
    chat: Chat, bot: BotAccount, by: User, old: dict[str, Any]
) -> dict[str, Any]:
    """The `ChatMemberUpdated` a bot gets when its own status in `chat` changed (now set)."""
    return {
        "chat": chat.to_api(),
        "from": by.to_api(),
        "date": now(),
        "old_chat_member": old,
        "new_chat_member": chat_member(chat, bot.user),
    }


async def get_chat(call: Call) -> dict[str, Any]:
    return call.chat().full_info()


async def get_chat_member(call: Call) -> dict[str, Any]:
    chat = call.chat()
    user = call.world.users.get(call.integer("user_id"))
    if user is None:
        raise bad_request("user not found")
    return chat_member(chat, user)


async def get_chat_administrators(call: Call) -> list[dict[str, Any]]:
    chat = call.chat()
    if chat.type is ChatType.PRIVATE:
        raise bad_request("there are no administrators in the private chat")
    return [
        chat_member(chat, call.world.users[user_id])
        for user_id, status in chat.members.items()
        if status.is_admin
    ]


async def get_chat_member_count(call: Call) -> int:
    chat = call.chat()
    return sum(1 for status in chat.members.values() if status.is_present)


async def leave_chat(call: Call) -> bool:
    chat = call.chat()
    if chat.type is ChatType.PRIVATE:
        raise bad_request("chat member status can't be changed in private chats")
    old = chat_member(chat, call.bot.user)
    chat.members[call.bot.id] = MemberStatus.LEFT
    # Telegram tells the bot about its own status change, whoever made it.
    call.bot.updates.push(
        "my_chat_member", my_chat_member_update(chat, call.bot, call.bot.user, old)
    )
    return True


# -- pinned messages ----------------------------------------------------------------------------


def _pinnable(call: Call) -> Chat:
    chat = call.chat()
    if chat.type is not ChatType.PRIVATE and not chat.status_of(call.bot.id).is_admin:
        raise bad_request("not enough rights to manage pinned messages in the chat")
    return chat


async def pin_chat_message(call: Call) -> bool:
    chat = _pinnable(call)
    message = call.message_in(chat, call.integer("message_id"), "message to pin not found")
    chat.pinned = [m for m in chat.pinned if m != message.message_id] + [message.message_id]
    notice = Message(chat=chat, message_id=0, sender=call.bot.user, thread_id=message.thread_id)
    notice.is_topic_message = message.is_topic_message
    notice.extra["pinned_message"] = message.to_api(with_reply=False)
    post(call, notice)
    return True


async def unpin_chat_message(call: Call) -> bool:
    chat = _pinnable(call)
    message_id = call.optional_integer("message_id")
    if message_id is None and chat.pinned:
        message_id = chat.pinned[-1]
    if message_id not in chat.pinned:
        raise bad_request("message to unpin not found")
    chat.pinned.remove(message_id)
    return True


async def unpin_all_chat_messages(call: Call) -> bool:
    _pinnable(call).pinned.clear()
    return True


# -- forum topics -------------------------------------------------------------------------------


def _forum(call: Call) -> Chat:
    chat = call.chat()
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    if not chat.status_of(call.bot.id).is_admin:
        raise bad_request("not enough rights to manage topics")
    return chat


def _topic(call: Call, chat: Chat) -> ForumTopic:
    topic = chat.topics.get(call.integer("message_thread_id"))
    if topic is None:
        raise bad_request("TOPIC_ID_INVALID")
    return topic


def _service(call: Call, chat: Chat, thread_id: int | None, **content: Any) -> Message:
    message = Message(
        chat=chat,
        message_id=0,
        sender=call.bot.user,
        thread_id=thread_id,
        is_topic_message=thread_id is not None,
        extra=content,
    )
    if thread_id is not None:
        message.reply_to = chat.messages.get(thread_id)
    return post(call, message)


def _topic_name(call: Call, required: bool) -> str | None:
    name = call.string("name") if required else call.optional_string("name")
    if name is not None and not 1 <= len(name) <= 128:
        raise bad_request("TOPIC_TITLE_EMPTY" if not name else "topic name is too long")
    return name


async def create_forum_topic(call: Call) -> dict[str, Any]:
    chat = _forum(call)
    name = _topic_name(call, required=True) or ""
    color = call.optional_integer("icon_color") or FORUM_ICON_COLORS[0]
    if color not in FORUM_ICON_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    emoji = call.optional_string("icon_custom_emoji_id")
    created: dict[str, Any] = {"name": name, "icon_color": color}
    if emoji:
        created["icon_custom_emoji_id"] = emoji
    thread_id = chat.next_message_id()
    root = Message(
        chat=chat,
        message_id=thread_id,
        sender=call.bot.user,
        thread_id=thread_id,
        is_topic_message=True,
        extra={"forum_topic_created": created},
    )
    call.world.store(root)
    topic = ForumTopic(root.message_id, name, color, emoji)
    chat.topics[topic.thread_id] = topic
    return topic.to_api()


async def edit_forum_topic(call: Call) -> bool:
    chat = _forum(call)
    topic = _topic(call, chat)
    name = _topic_name(call, required=False)
    emoji = call.get("icon_custom_emoji_id")
    edited: dict[str, Any] = {}
    if name is not None and name != topic.name:
        topic.name = edited["name"] = name
    if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
        topic.icon_custom_emoji_id = emoji or None
        edited["icon_custom_emoji_id"] = emoji
    if not edited:
        raise bad_request(_TOPIC_NOT_MODIFIED)
    _service(call, chat, topic.thread_id, forum_topic_edited=edited)
    return True


def _set_closed(closed: bool) -> Handler:
    async def toggle(call: Call) -> bool:
        chat = _forum(call)
        topic = _topic(call, chat)
        if topic.closed == closed:
            raise bad_request(_TOPIC_NOT_MODIFIED)
        topic.closed = closed
        event = "forum_topic_closed" if closed else "forum_topic_reopened"
        _service(call, chat, topic.thread_id, **{event: {}})
        return True

    return toggle


async def delete_forum_topic(call: Call) -> bool:
    chat = _forum(call)
    topic = _topic(call, chat)
    del chat.topics[topic.thread_id]
    for message in [m for m in chat.messages.values() if m.thread_id == topic.thread_id]:
        call.world.delete(message)
    return True


HANDLERS: dict[str, Handler] = {
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "getChatMemberCount": get_chat_member_count,
    "leaveChat": leave_chat,
    "pinChatMessage": pin_chat_message,
    "unpinChatMessage": unpin_chat_message,
    "unpinAllChatMessages": unpin_all_chat_messages,
    "createForumTopic": create_forum_topic,
    "editForumTopic": edit_forum_topic,
    "closeForumTopic": _set_closed(True),
    "reopenForumTopic": _set_closed(False),
    "deleteForumTopic": delete_forum_topic,
}
