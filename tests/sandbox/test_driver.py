"""The driver: people's actions become updates; bot output is awaited in order."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api
from tests.sandbox.test_http import PNG_1x1

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "English", "callback_data": "lang:en"}, {"text": "Site", "url": "https://x.kz"}]
    ]
}


async def test_expect_message_is_fifo(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    for text in ("one", "two", "three"):
        await api("sendMessage", json={"chat_id": user.id, "text": text})
    assert (await user.expect_message())["text"] == "one"
    assert [m["text"] for m in await user.expect_messages(2)] == ["two", "three"]
    await user.expect_no_message(within=0.05)


async def test_expect_message_wakes_on_arrival(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    waiting = asyncio.create_task(user.expect_message(timeout=5))
    await asyncio.sleep(0.01)
    await api("sendMessage", json={"chat_id": user.id, "text": "late"})
    assert (await waiting)["text"] == "late"


async def test_timeout_reports_what_was_received(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    await api("sendMessage", json={"chat_id": user.id, "text": "only this"})
    await user.expect_message()
    await api("sendMessage", json={"chat_id": user.id, "text": "<b>oops", "parse_mode": "HTML"})
    with pytest.raises(AssertionError) as caught:
        await user.expect_message(timeout=0.05)
    report = str(caught.value)
    assert "no bot message within 0.05s" in report
    assert "only this" in report
    assert "sendMessage -> 400 Bad Request: can't parse entities" in report


async def test_expect_no_message_fails_on_a_message(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    await api("sendMessage", json={"chat_id": user.id, "text": "surprise"})
    with pytest.raises(AssertionError, match="surprise"):
        await user.expect_no_message(within=0.05)


async def test_press_by_text_or_data_uses_the_current_markup(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    await api("sendMessage", json={"chat_id": user.id, "text": "Pick", "reply_markup": KEYBOARD})
    menu = await user.expect_message()
    query = await user.press(menu, callback_data="lang:en")
    assert query["data"] == "lang:en" and query["message"]["text"] == "Pick"
    with pytest.raises(AssertionError, match="sends no callback"):
        await user.press(menu, "Site")
    with pytest.raises(AssertionError, match="buttons: 'English', 'Site'"):
        await user.press(menu, "Русский")
    ref = {"chat_id": user.id, "message_id": menu["message_id"]}
    await api("editMessageReplyMarkup", json=ref)
    with pytest.raises(AssertionError, match="buttons: none"):
        await user.press(menu, "English")


async def test_media_album_and_raw_messages_are_valid_updates(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send_photo(PNG_1x1, caption="photo")
    await user.send_document(b"%PDF", "claim.pdf", "application/pdf", caption="pdf")
    album = await user.send_album([("photo", PNG_1x1), ("video", b"mp4")], caption="album")
    await user.send_raw(location={"latitude": 43.24, "longitude": 76.91})
    await user.send_raw(
        sticker={
            "file_id": "CAACAgI",
            "file_unique_id": "AgAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    )
    _, body = await api("getUpdates", json={})
    messages = [u["message"] for u in body["result"]]
    assert len(messages) == 6
    assert messages[2]["media_group_id"] == messages[3]["media_group_id"]
    assert album[0]["caption"] == "album" and "caption" not in album[1]
    assert stand.violations == []


async def test_malformed_raw_message_is_refused_at_once(
    stand: StandIn, account: BotAccount
) -> None:
    user = stand.create_user("Aru")
    with pytest.raises(AssertionError, match='Location needs field "latitude"'):
        await user.send_raw(location={"lat": 1})
    assert stand.chat_messages(user.id) == []


async def test_edits_by_people_reach_the_bot(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    sent = await user.send("tpyo")
    await user.edit(sent, "typo")
    _, body = await api("getUpdates", json={})
    edited = body["result"][-1]["edited_message"]
    assert edited["text"] == "typo" and "edit_date" in edited


async def test_groups_and_topics(api: Api, stand: StandIn) -> None:
    forum = stand.create_supergroup("staff", forum=True)
    _, body = await api("createForumTopic", json={"chat_id": forum.id, "name": "a"})
    first = body["result"]["message_thread_id"]
    _, body = await api("createForumTopic", json={"chat_id": forum.id, "name": "b"})
    second = body["result"]["message_thread_id"]
    for thread, text in ((second, "to b"), (first, "to a"), (None, "general")):
        where = {"chat_id": forum.id} | ({"message_thread_id": thread} if thread else {})
        await api("sendMessage", json={**where, "text": text})
    assert (await forum.expect_message(thread_id=first))["text"] == "to a"
    assert (await forum.expect_message(thread_id=second))["text"] == "to b"
    assert [m["text"] for m in await forum.expect_messages(3)] == ["to b", "to a", "general"]
    outsider = stand.create_user("Outsider")
    with pytest.raises(AssertionError, match="not a member"):
        await outsider.send("let me in", chat=forum)


async def test_reply_keyboards_are_shown_until_removed(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    keyboard = {"keyboard": [[{"text": "Share phone", "request_contact": True}]]}
    sent = await api(
        "sendMessage", json={"chat_id": user.id, "text": "k", "reply_markup": keyboard}
    )
    assert "reply_markup" not in sent[1]["result"]  # only inline keyboards appear in a Message
    assert user.reply_keyboard() == keyboard
    remove = {"remove_keyboard": True}
    await api("sendMessage", json={"chat_id": user.id, "text": "r", "reply_markup": remove})
    assert user.reply_keyboard() is None


async def test_every_sample_content_and_file_kind_is_a_valid_update(
    api: Api, stand: StandIn
) -> None:
    from sandbox.driver import CONTENT_SAMPLES

    user = stand.create_user("Aru")
    other = stand.create_user("Dana")
    for kind in CONTENT_SAMPLES:
        await user.send_content(kind)
    for kind in ("voice", "audio", "animation", "sticker", "video", "document", "photo"):
        await user.send_file(kind, PNG_1x1, caption="c")
    await user.send_forwarded("from Dana", origin=other)
    await user.send_forwarded("from someone", hidden_name="Someone")
    _, body = await api("getUpdates", json={})
    messages = [u["message"] for u in body["result"]]
    assert len(messages) == len(CONTENT_SAMPLES) + 9
    assert [k for k in CONTENT_SAMPLES if k not in messages[list(CONTENT_SAMPLES).index(k)]] == []
    assert "caption" not in messages[len(CONTENT_SAMPLES) + 3]  # a sticker has none
    assert messages[-2]["forward_origin"]["sender_user"]["id"] == other.id
    assert messages[-1]["forward_origin"]["type"] == "hidden_user"
    assert stand.violations == []


async def test_a_bot_invited_and_leaving_hears_of_its_own_status(
    api: Api, stand: StandIn, account: BotAccount
) -> None:
    group = stand.create_supergroup("random", bots=[])
    owner = stand.create_user("Owner")
    group.add_member(owner, status="creator")
    group.invite_bot(account, by=owner)
    assert (await api("leaveChat", json={"chat_id": group.id}))[0] == 200
    _, body = await api("getUpdates", json={})
    kinds = [next(k for k in u if k != "update_id") for u in body["result"]]
    assert kinds == ["my_chat_member", "message", "my_chat_member"]
    joined, service, left = (u[k] for u, k in zip(body["result"], kinds, strict=True))
    assert (joined["old_chat_member"]["status"], joined["new_chat_member"]["status"]) == (
        "left",
        "member",
    )
    assert joined["from"]["id"] == owner.id
    assert service["new_chat_members"][0]["id"] == account.id
    assert (left["new_chat_member"]["status"], left["from"]["id"]) == ("left", account.id)
    assert stand.violations == []
