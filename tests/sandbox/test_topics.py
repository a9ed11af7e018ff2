"""Forum topics and media with a real aiogram `Bot`: every send kind lands in its topic, and
every send kind into a deleted topic is refused with "message thread not found"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InputMediaDocument,
    InputMediaPhoto,
    ReactionTypeEmoji,
)

from sandbox.driver import GroupDriver, UserDriver
from sandbox.server import StandIn
from tests.sandbox.test_http import PNG_1x1

WEBP = b"RIFF\x1e\0\0\0WEBPVP8 \x12\0\0\0\x30\x01\0\x9d\x01\x2a\x01\0\x01\0"
OGG = b"OggS\0\x02" + b"\0" * 20
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 12


@dataclass
class Scene:
    bot: Bot
    forum: GroupDriver
    thread: int
    user: UserDriver
    source: dict[str, Any]  # a message of the user's, to copy and forward
    album: list[dict[str, Any]]  # an album of the user's


def upload(data: bytes, name: str) -> BufferedInputFile:
    return BufferedInputFile(data, name)


Send = Callable[[Scene], Awaitable[Any]]

SENDS: dict[str, Send] = {
    "sendMessage": lambda s: s.bot.send_message(s.forum.id, "card", message_thread_id=s.thread),
    "sendPhoto": lambda s: s.bot.send_photo(
        s.forum.id, upload(PNG_1x1, "p.png"), message_thread_id=s.thread
    ),
    "sendDocument": lambda s: s.bot.send_document(
        s.forum.id, upload(b"%PDF-1.4", "claim.pdf"), message_thread_id=s.thread
    ),
    "sendVideo": lambda s: s.bot.send_video(
        s.forum.id, upload(MP4, "v.mp4"), message_thread_id=s.thread
    ),
    "sendVoice": lambda s: s.bot.send_voice(
        s.forum.id, upload(OGG, "v.ogg"), message_thread_id=s.thread
    ),
    "sendAudio": lambda s: s.bot.send_audio(
        s.forum.id, upload(b"ID3", "a.mp3"), message_thread_id=s.thread
    ),
    "sendAnimation": lambda s: s.bot.send_animation(
        s.forum.id, upload(b"GIF89a\x01\0\x01\0", "a.gif"), message_thread_id=s.thread
    ),
    "sendSticker": lambda s: s.bot.send_sticker(
        s.forum.id, upload(WEBP, "s.webp"), message_thread_id=s.thread
    ),
    "sendMediaGroup": lambda s: s.bot.send_media_group(
        s.forum.id,
        [
            InputMediaDocument(media=upload(b"%PDF-1.4", "1.pdf")),
            InputMediaDocument(media=upload(b"%PDF-1.4", "2.pdf")),
        ],
        message_thread_id=s.thread,
    ),
    "sendLocation": lambda s: s.bot.send_location(
        s.forum.id, 43.24, 76.91, message_thread_id=s.thread
    ),
    "copyMessage": lambda s: s.bot.copy_message(
        s.forum.id, s.user.id, s.source["message_id"], message_thread_id=s.thread
    ),
    "copyMessages": lambda s: s.bot.copy_messages(
        s.forum.id, s.user.id, [m["message_id"] for m in s.album], message_thread_id=s.thread
    ),
    "forwardMessage": lambda s: s.bot.forward_message(
        s.forum.id, s.user.id, s.source["message_id"], message_thread_id=s.thread
    ),
    "forwardMessages": lambda s: s.bot.forward_messages(
        s.forum.id, s.user.id, [m["message_id"] for m in s.album], message_thread_id=s.thread
    ),
    "sendChatAction": lambda s: s.bot.send_chat_action(
        s.forum.id, "typing", message_thread_id=s.thread
    ),
}
ALBUM_SENDS = {"sendMediaGroup": 2, "copyMessages": 2, "forwardMessages": 2}


async def scene(bot: Bot, stand: StandIn) -> Scene:
    forum = stand.create_supergroup("IP staff", forum=True)
    topic = await bot.create_forum_topic(forum.id, "IP-2026-000001")
    user = stand.create_user("Aru")
    source = await user.send_photo(PNG_1x1, caption="evidence")
    album = await user.send_album([("photo", PNG_1x1), ("photo", PNG_1x1)], caption="album")
    return Scene(bot, forum, topic.message_thread_id, user, source, album)


@pytest.mark.parametrize("method", list(SENDS))
async def test_every_send_kind_lands_in_its_topic(
    aiogram_bot: Bot, stand: StandIn, method: str
) -> None:
    s = await scene(aiogram_bot, stand)
    await SENDS[method](s)
    if method == "sendChatAction":
        [action] = [e for e in stand.world.events.events if e.kind == "chat_action"]
        assert action.thread_id == s.thread
    else:
        landed = s.forum.messages(s.thread)[1:]  # after the topic's "created" message
        assert len(landed) == ALBUM_SENDS.get(method, 1)
        for message in landed:
            assert message["message_thread_id"] == s.thread and message["is_topic_message"]
        if len(landed) > 1:
            assert landed[0]["media_group_id"] == landed[1]["media_group_id"]
        assert stand.delivered(s.forum.id, thread_id=s.thread) == landed
    assert stand.violations == []


@pytest.mark.parametrize("method", list(SENDS))
async def test_every_send_kind_into_a_deleted_topic_is_refused(
    aiogram_bot: Bot, stand: StandIn, method: str
) -> None:
    s = await scene(aiogram_bot, stand)
    await aiogram_bot.delete_forum_topic(s.forum.id, s.thread)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message thread not found"):
        await SENDS[method](s)
    assert stand.delivered(s.forum.id) == []
    assert stand.requests[-1].error_code == 400 and not stand.requests[-1].effect
    assert stand.violations == []


async def test_topic_lifecycle_with_aiogram(aiogram_bot: Bot, stand: StandIn) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    topic = await aiogram_bot.create_forum_topic(forum.id, "IP-2026-000007")
    thread = topic.message_thread_id
    assert await aiogram_bot.edit_forum_topic(forum.id, thread, name="IP-2026-000007 ✅")
    assert await aiogram_bot.close_forum_topic(forum.id, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await aiogram_bot.close_forum_topic(forum.id, thread)
    assert await aiogram_bot.reopen_forum_topic(forum.id, thread)
    service = forum.messages(thread)
    assert [next(k for k in m if k.startswith("forum_topic_")) for m in service] == [
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
    ]
    assert forum.topics()[0]["name"] == "IP-2026-000007 ✅"
    assert await aiogram_bot.delete_forum_topic(forum.id, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await aiogram_bot.edit_forum_topic(forum.id, thread, name="gone")
    assert forum.topics() == [] and forum.messages() == []
    assert stand.violations == []


async def test_closed_topic_refuses_a_bot_that_is_not_admin(
    aiogram_bot: Bot, stand: StandIn
) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    thread = (await aiogram_bot.create_forum_topic(forum.id, "t")).message_thread_id
    await aiogram_bot.close_forum_topic(forum.id, thread)
    await aiogram_bot.send_message(forum.id, "admins still may", message_thread_id=thread)
    forum.add_bot(next(iter(stand.world.bots.values())), status="member")
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await aiogram_bot.send_message(forum.id, "members may not", message_thread_id=thread)


async def test_a_users_album_arrives_as_several_updates(aiogram_bot: Bot, stand: StandIn) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    thread = (await aiogram_bot.create_forum_topic(forum.id, "t")).message_thread_id
    staff = stand.create_user("Staff")
    forum.add_member(staff)
    user = stand.create_user("Aru")
    await user.send_album([("photo", PNG_1x1), ("video", MP4), ("photo", PNG_1x1)], caption="x")
    await staff.send_album(
        [("document", b"%PDF"), ("document", b"%PDF")], chat=forum, thread_id=thread
    )
    updates = await aiogram_bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message is not None]
    assert len(updates) == len(messages) == 5  # one update per item, nothing marks the last
    private, topic = messages[:3], messages[3:]
    assert len({m.media_group_id for m in private}) == 1 and private[0].media_group_id
    assert [m.caption for m in private] == ["x", None, None]
    assert [bool(m.photo) for m in private] == [True, False, True]
    assert len({m.media_group_id for m in topic}) == 1
    assert topic[0].media_group_id != private[0].media_group_id
    assert {m.message_thread_id for m in topic} == {thread}
    assert all(m.is_topic_message for m in topic)
    assert stand.violations == []


async def test_message_reactions(aiogram_bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    message = await user.send("thanks!")
    assert await aiogram_bot.set_message_reaction(
        user.id, message["message_id"], reaction=[ReactionTypeEmoji(emoji="👍")]
    )
    [event] = [e for e in stand.world.events.events if e.kind == "reaction"]
    assert event.data["reaction"] == [{"type": "emoji", "emoji": "👍"}]
    assert event.message is not None and event.message["message_id"] == message["message_id"]
    assert await aiogram_bot.set_message_reaction(user.id, message["message_id"], reaction=[])
    with pytest.raises(TelegramBadRequest, match="MESSAGE_ID_INVALID"):
        await aiogram_bot.set_message_reaction(user.id, 999, reaction=[])
    assert stand.violations == []
    with pytest.raises(TelegramBadRequest):  # not one of the emoji bots may react with
        await aiogram_bot.set_message_reaction(
            user.id, message["message_id"], reaction=[ReactionTypeEmoji(emoji="🦖")]
        )
    assert stand.violations == [
        'setMessageReaction: reaction[0].emoji: str "🦖" is not one of the documented values'
    ]


async def test_an_album_photo_group_into_a_topic(aiogram_bot: Bot, stand: StandIn) -> None:
    s = await scene(aiogram_bot, stand)
    sent = await aiogram_bot.send_media_group(
        s.forum.id,
        [InputMediaPhoto(media=upload(PNG_1x1, f"{i}.png")) for i in range(3)],
        message_thread_id=s.thread,
    )
    assert len({m.media_group_id for m in sent}) == 1
    assert {m.message_thread_id for m in sent} == {s.thread}
