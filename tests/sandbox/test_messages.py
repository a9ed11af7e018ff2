"""Message methods and Telegram's refusals, as a bot sees them."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox.driver import UserDriver
from sandbox.server import StandIn
from tests.sandbox.conftest import Api
from tests.sandbox.test_http import PNG_1x1

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


async def started_user(stand: StandIn, name: str = "Aru") -> UserDriver:
    user = stand.create_user(name)
    await user.send("/start")
    return user


async def send(api: Api, chat_id: int, text: str, **extra: object) -> dict[str, Any]:
    status, body = await api("sendMessage", json={"chat_id": chat_id, "text": text, **extra})
    assert status == 200, body
    result: dict[str, Any] = body["result"]
    return result


async def test_refusals(api: Api, stand: StandIn) -> None:
    stranger = stand.create_user("Never wrote")
    user = await started_user(stand)
    cases = [
        ({"chat_id": -100999, "text": "x"}, 400, "Bad Request: chat not found"),
        (
            {"chat_id": stranger.id, "text": "x"},
            403,
            "Forbidden: bot can't initiate conversation with a user",
        ),
        ({"chat_id": user.id, "text": " "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": user.id, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        (
            {"chat_id": user.id, "text": "x", "reply_parameters": {"message_id": 999}},
            400,
            "Bad Request: message to be replied not found",
        ),
        (
            {
                "chat_id": user.id,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "t"}]]},
            },
            400,
            "Bad Request: text buttons are unallowed in the inline keyboard",
        ),
        (
            {
                "chat_id": user.id,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": "d" * 65}]]},
            },
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ]
    for params, code, description in cases:
        status, body = await api("sendMessage", json=params)
        assert (status, body["description"]) == (code, description), params
    user.block_bot()
    status, body = await api("sendMessage", json={"chat_id": user.id, "text": "x"})
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert stand.violations == []


async def test_blocking_sends_my_chat_member(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    user.block_bot()
    _, body = await api("getUpdates", json={})
    update = body["result"][-1]["my_chat_member"]
    assert update["new_chat_member"]["status"] == "kicked"
    assert stand.violations == []


async def test_reply_without_target_allowed(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    reply = {"message_id": 999, "allow_sending_without_reply": True}
    message = await send(api, user.id, "x", reply_parameters=reply)
    assert "reply_to_message" not in message


async def test_reply_to_a_user_message(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    question = await user.send("a question")
    message = await send(
        api, user.id, "an answer", reply_parameters={"message_id": question["message_id"]}
    )
    assert message["reply_to_message"]["text"] == "a question"


async def test_edits(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = await send(api, user.id, "v1", reply_markup=keyboard)
    ref = {"chat_id": user.id, "message_id": sent["message_id"]}
    status, body = await api(
        "editMessageText", json={**ref, "text": "v1", "reply_markup": keyboard}
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)
    status, body = await api("editMessageText", json={**ref, "text": "v2"})
    assert status == 200
    assert "reply_markup" not in body["result"]  # no reply_markup: the keyboard goes
    assert body["result"]["edit_date"] >= sent["date"]
    edited = await user.expect_edit()
    assert edited["text"] == "v2"
    status, body = await api("editMessageReplyMarkup", json={**ref, "reply_markup": keyboard})
    assert status == 200 and body["result"]["reply_markup"] == keyboard
    status, body = await api("editMessageCaption", json={**ref, "caption": "c"})
    assert body["description"] == "Bad Request: there is no caption in the message to edit"
    question = await user.send("mine")
    status, body = await api(
        "editMessageText",
        json={"chat_id": user.id, "message_id": question["message_id"], "text": "x"},
    )
    assert body["description"] == "Bad Request: message can't be edited"
    assert stand.violations == []


async def test_delete(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    sent = await send(api, user.id, "bye")
    ref = {"chat_id": user.id, "message_id": sent["message_id"]}
    assert (await api("deleteMessage", json=ref))[1]["result"] is True
    status, body = await api("deleteMessage", json=ref)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    assert [m["text"] for m in stand.chat_messages(user.id)] == ["/start"]


async def test_callback_answers(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    keyboard = {"inline_keyboard": [[{"text": "English", "callback_data": "lang:en"}]]}
    menu = await send(api, user.id, "Language?", reply_markup=keyboard)
    query = await user.press(menu, "English")
    _, body = await api("getUpdates", json={})
    assert body["result"][-1]["callback_query"] == query
    answer = {"callback_query_id": query["id"], "text": "Saved", "show_alert": True}
    assert (await api("answerCallbackQuery", json=answer))[0] == 200
    assert await user.expect_callback_answer() == "Saved"
    assert user.callback_answers[-1].show_alert is True
    status, body = await api("answerCallbackQuery", json={"callback_query_id": query["id"]})
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )


async def test_copy_and_forward(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    staff = stand.create_supergroup("staff", forum=False)
    photo = await user.send_photo(PNG_1x1, caption="evidence <b>1</b>")
    status, body = await api(
        "copyMessage",
        json={"chat_id": staff.id, "from_chat_id": user.id, "message_id": photo["message_id"]},
    )
    assert status == 200
    copied = staff.chat.messages[body["result"]["message_id"]].to_api()
    assert copied["photo"] == photo["photo"]
    assert copied["caption"] == "evidence <b>1</b>"  # people's captions are literal text
    assert "forward_origin" not in copied
    status, body = await api(
        "forwardMessage",
        json={"chat_id": staff.id, "from_chat_id": user.id, "message_id": photo["message_id"]},
    )
    assert body["result"]["forward_origin"]["sender_user"]["id"] == user.id
    status, body = await api(
        "copyMessage", json={"chat_id": staff.id, "from_chat_id": user.id, "message_id": 999}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to copy not found")
    assert stand.violations == []


async def test_copy_messages_keeps_albums_together(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    staff = stand.create_supergroup("staff")
    album = await user.send_album([("photo", PNG_1x1), ("photo", PNG_1x1)], caption="two")
    ids = [m["message_id"] for m in album]
    status, body = await api(
        "copyMessages", json={"chat_id": staff.id, "from_chat_id": user.id, "message_ids": ids}
    )
    assert status == 200 and len(body["result"]) == 2
    copies = [staff.chat.messages[r["message_id"]] for r in body["result"]]
    assert copies[0].media_group_id == copies[1].media_group_id != album[0]["media_group_id"]
    status, body = await api(
        "copyMessages",
        json={"chat_id": staff.id, "from_chat_id": user.id, "message_ids": ids[::-1]},
    )
    assert status == 400


async def test_send_media_group(api: Api, stand: StandIn, http: aiohttp.ClientSession) -> None:
    user = await started_user(stand)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    media = [
        {"type": "photo", "media": "attach://p1", "caption": "<i>one</i>", "parse_mode": "HTML"},
        {"type": "photo", "media": "attach://p2"},
    ]
    form.add_field("media", json.dumps(media))
    form.add_field("p1", PNG_1x1, filename="1.png", content_type="image/png")
    form.add_field("p2", PNG_1x1, filename="2.png", content_type="image/png")
    status, body = await api("sendMediaGroup", data=form)
    assert status == 200, body
    first, second = body["result"]
    assert first["media_group_id"] == second["media_group_id"]
    assert first["caption_entities"] == [{"type": "italic", "offset": 0, "length": 3}]
    received = await user.expect_messages(2)
    assert [m["message_id"] for m in received] == [first["message_id"], second["message_id"]]
    status, body = await api(
        "sendMediaGroup", json={"chat_id": user.id, "media": [{"type": "photo", "media": "x"}]}
    )
    assert status == 400
    assert stand.violations == []


async def test_chat_actions_reactions_and_files(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    assert (await api("sendChatAction", json={"chat_id": user.id, "action": "typing"}))[0] == 200
    status, body = await api("sendChatAction", json={"chat_id": user.id, "action": "dancing"})
    assert (status, body["description"]) == (400, "Bad Request: wrong parameter action in request")
    message = (await user.send("thanks"))["message_id"]
    reaction = [{"type": "emoji", "emoji": "👍"}]
    ref = {"chat_id": user.id, "message_id": message}
    assert (await api("setMessageReaction", json={**ref, "reaction": reaction}))[0] == 200
    bad = [{"type": "emoji", "emoji": "🦖"}]
    assert (await api("setMessageReaction", json={**ref, "reaction": bad}))[0] == 400
    status, body = await api("getFile", json={"file_id": "nope"})
    assert (status, body["description"]) == (400, "Bad Request: invalid file_id")


async def test_injected_flood_error(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    stand.faults.flood("sendMessage", retry_after=3)
    status, body = await api("sendMessage", json={"chat_id": user.id, "text": "x"})
    assert (status, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    )
    assert (await api("sendMessage", json={"chat_id": user.id, "text": "x"}))[0] == 200


@pytest.mark.parametrize(
    ("method", "field", "payload", "expected"),
    [
        ("sendDocument", "document", b"%PDF-1.4", {"file_name": "f.bin"}),
        ("sendVideo", "video", b"\0\0\0\x18ftypmp42", {"duration": 1}),
        ("sendVoice", "voice", b"OggS", {"mime_type": "audio/ogg"}),
        ("sendAudio", "audio", b"ID3", {"duration": 1}),
        ("sendAnimation", "animation", b"GIF89a\x01\x00\x01\x00", {"width": 1}),
        ("sendSticker", "sticker", b"RIFF\0\0\0\0WEBP", {"type": "regular"}),
    ],
)
async def test_media_kinds(
    api: Api, stand: StandIn, method: str, field: str, payload: bytes, expected: dict[str, object]
) -> None:
    user = await started_user(stand)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field(field, payload, filename="f.bin")
    status, body = await api(method, data=form)
    assert status == 200, body
    media = body["result"][field]
    assert expected.items() <= media.items()
    again = await api(method, json={"chat_id": user.id, field: media["file_id"]})
    assert again[1]["result"][field]["file_id"] == media["file_id"]
    assert stand.violations == []


async def test_file_ids_keep_their_kind(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    photo = await user.send_photo(PNG_1x1)
    status, body = await api(
        "sendVoice", json={"chat_id": user.id, "voice": photo["photo"][-1]["file_id"]}
    )
    assert (status, body["description"]) == (400, "Bad Request: type of file mismatch")
    status, body = await api("sendPhoto", json={"chat_id": user.id, "photo": "no-such-id"})
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"


async def test_locations_contacts_dice(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    _, body = await api(
        "sendLocation", json={"chat_id": user.id, "latitude": 51.13, "longitude": 71.43}
    )
    assert body["result"]["location"] == {"latitude": 51.13, "longitude": 71.43}
    _, body = await api(
        "sendContact",
        json={"chat_id": user.id, "phone_number": "+77170000000", "first_name": "Desk"},
    )
    assert body["result"]["contact"]["first_name"] == "Desk"
    _, body = await api("sendDice", json={"chat_id": user.id})
    assert 1 <= body["result"]["dice"]["value"] <= 6
    assert stand.violations == []


async def test_pins_and_menu_button(api: Api, stand: StandIn) -> None:
    staff = stand.create_supergroup("staff")
    card = await send(api, staff.id, "ticket card")
    ref = {"chat_id": staff.id, "message_id": card["message_id"]}
    assert (await api("pinChatMessage", json=ref))[0] == 200
    _, body = await api("getChat", json={"chat_id": staff.id})
    assert body["result"]["pinned_message"]["text"] == "ticket card"
    assert staff.messages()[-1]["pinned_message"]["message_id"] == card["message_id"]
    assert (await api("unpinChatMessage", json={"chat_id": staff.id}))[0] == 200
    status, body = await api("unpinChatMessage", json=ref)
    assert (status, body["description"]) == (400, "Bad Request: message to unpin not found")
    _, body = await api("getChatMenuButton", json={})
    assert body["result"] == {"type": "default"}
    await api("setChatMenuButton", json={"menu_button": {"type": "commands"}})
    _, body = await api("getChatMenuButton", json={})
    assert body["result"] == {"type": "commands"}
    assert stand.violations == []
