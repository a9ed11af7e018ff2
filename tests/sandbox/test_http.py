"""The HTTP surface: body encodings, tokens, method names, file downloads."""

from __future__ import annotations

import json

import aiohttp

from sandbox.driver import UserDriver
from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def started_user(stand: StandIn) -> UserDriver:
    user = stand.create_user("Aru", language_code="kk")
    await user.send("/start")
    return user


async def test_json_body(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    status, body = await api(
        "sendMessage", json={"chat_id": user.id, "text": "json", "reply_markup": keyboard}
    )
    assert status == 200 and body["ok"] is True
    assert body["result"]["reply_markup"] == keyboard
    assert stand.bot_requests("sendMessage")[0].params["chat_id"] == user.id


async def test_urlencoded_body_with_json_string_objects(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    form = {
        "chat_id": str(user.id),
        "text": "<b>form</b>",
        "parse_mode": "HTML",
        "disable_notification": "true",
        "reply_markup": json.dumps(keyboard),
    }
    status, body = await api("sendMessage", data=form)
    assert status == 200, body
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    params = stand.bot_requests("sendMessage")[0].params
    assert params["chat_id"] == user.id and params["disable_notification"] is True
    assert params["reply_markup"] == keyboard


async def test_multipart_body_with_upload(
    api: Api, stand: StandIn, account: BotAccount, http: aiohttp.ClientSession
) -> None:
    user = await started_user(stand)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field("caption", "a pixel")
    form.add_field("photo", PNG_1x1, filename="pixel.png", content_type="image/png")
    status, body = await api("sendPhoto", data=form)
    assert status == 200, body
    photo = body["result"]["photo"]
    assert [(p["width"], p["height"]) for p in photo] == [(1, 1)]
    file_status, file_body = await api("getFile", json={"file_id": photo[-1]["file_id"]})
    assert file_status == 200
    url = f"{stand.base_url}/file/bot{account.token}/{file_body['result']['file_path']}"
    async with http.get(url) as response:
        assert response.status == 200
        assert await response.read() == PNG_1x1
    assert stand.violations == []


async def test_multipart_attach_reference(api: Api, stand: StandIn) -> None:
    user = await started_user(stand)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field("document", "attach://part7")
    form.add_field("part7", b"%PDF-1.4", filename="claim.pdf", content_type="application/pdf")
    status, body = await api("sendDocument", data=form)
    assert status == 200, body
    document = body["result"]["document"]
    assert (document["file_name"], document["mime_type"]) == ("claim.pdf", "application/pdf")
    assert stand.violations == []


async def test_get_with_query_string_and_any_case(
    stand: StandIn, account: BotAccount, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stand.base_url}/bot{account.token}/GETME") as response:
        body = await response.json()
    assert body["result"]["username"] == "ipdesk_bot"
    assert stand.requests[-1].method == "getMe"


async def test_unknown_token_is_unauthorized(api: Api) -> None:
    status, body = await api("getMe", token="123:nope")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_file_is_not_found(
    stand: StandIn, account: BotAccount, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stand.base_url}/file/bot{account.token}/photos/x.jpg") as response:
        assert response.status == 404


async def test_every_request_is_recorded(api: Api, stand: StandIn) -> None:
    await api("getMe")
    await api("sendMessage", json={"chat_id": 1, "text": "x"})
    assert [(r.method, r.ok) for r in stand.requests] == [("getMe", True), ("sendMessage", False)]
    assert stand.requests[1].response["description"] == "Bad Request: chat not found"
