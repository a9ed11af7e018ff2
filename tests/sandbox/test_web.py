"""The web chat's server side: the page, its WebSocket feed, uploads, files, and the guard
against other sites."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from sandbox.server import StandIn
from tests.sandbox.conftest import Api
from tests.sandbox.test_http import PNG_1x1

EVIL = {"Origin": "http://evil.example"}


async def control(
    http: aiohttp.ClientSession, stand: StandIn, verb: str, path: str, **request: Any
) -> tuple[int, Any]:
    async with http.request(verb, f"{stand.base_url}/sandbox/api/{path}", **request) as response:
        return response.status, await response.json()


def files_form(user_id: int, *files: tuple[str, bytes, str], **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("user_id", str(user_id))
    for key, value in fields.items():
        form.add_field(key, value)
    for name, data, mime in files:
        form.add_field("file", data, filename=name, content_type=mime)
    return form


async def test_the_page_and_its_files_are_served(
    stand: StandIn, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stand.base_url}/") as response:
        page = await response.text()
        assert response.status == 200 and response.content_type == "text/html"
    assert '<script src="/web/app.js"' in page and "http" not in page.replace("http-equiv", "")
    for name, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        async with http.get(f"{stand.base_url}/web/{name}") as response:
            assert response.status == 200 and kind in response.content_type


async def test_the_feed_sends_state_then_events_as_they_happen(
    stand: StandIn, account: Any, http: aiohttp.ClientSession, api: Api
) -> None:
    person = stand.create_user("Aru", language_code="kk")
    await person.send("/start")
    async with http.ws_connect(f"{stand.base_url}/sandbox/ws?after=0") as ws:
        first = json.loads((await ws.receive(5)).data)
        assert first["type"] == "state" and first["state"]["instance"] == stand.instance
        assert [u["first_name"] for u in first["state"]["users"]] == ["Aru"]
        replay = json.loads((await ws.receive(5)).data)
        assert [e["message"]["text"] for e in replay["events"]] == ["/start"]
        await api(
            "sendMessage", json={"chat_id": person.id, "text": "<b>Сәлем</b>", "parse_mode": "HTML"}
        )
        live = json.loads((await ws.receive(5)).data)
        assert live["last"] == 2
        [event] = live["events"]
        assert event["kind"] == "message" and event["from_bot"]
        assert event["message"]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
        status, _ = await control(
            http, stand, "POST", "users", json={"first_name": "Minji", "language_code": "ko"}
        )
        assert status == 200
        changed = json.loads((await ws.receive(5)).data)
        assert changed["type"] == "state"
        assert [u["first_name"] for u in changed["state"]["users"]] == ["Aru", "Minji"]


async def test_the_feed_ends_when_the_stand_in_stops(http: aiohttp.ClientSession) -> None:
    stand = StandIn()
    await stand.start()
    async with http.ws_connect(f"{stand.base_url}/sandbox/ws") as ws:
        await ws.receive(5)  # the state
        await asyncio.wait_for(stand.stop(), 5)
        message = await ws.receive(5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_other_sites_can_neither_act_nor_listen(
    stand: StandIn, account: Any, http: aiohttp.ClientSession
) -> None:
    person = stand.create_user("Aru")
    body = {"user_id": person.id, "text": "hi"}
    status, answer = await control(http, stand, "POST", "send", json=body, headers=EVIL)
    assert status == 403 and "other sites" in answer["error"]
    form = files_form(person.id, ("a.png", PNG_1x1, "image/png"))
    status, _ = await control(http, stand, "POST", "upload", data=form, headers=EVIL)
    assert status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{stand.base_url}/sandbox/ws", headers=EVIL)
    assert stand.chat_messages(person.id) == []
    same = {"Origin": stand.base_url}
    status, _ = await control(http, stand, "POST", "send", json=body, headers=same)
    assert status == 200


async def test_uploads_become_photos_albums_or_files_as_in_telegram(
    stand: StandIn, account: Any, http: aiohttp.ClientSession, api: Api
) -> None:
    person = stand.create_user("Minji", language_code="ko")
    png = ("shot.png", PNG_1x1, "image/png")
    status, body = await control(http, stand, "POST", "upload", data=files_form(person.id, png))
    assert status == 200 and "photo" in body["result"][0]
    form = files_form(person.id, png, png, caption="증거 사진")
    _, body = await control(http, stand, "POST", "upload", data=form)
    album = body["result"]
    assert [("photo" in m, m.get("caption")) for m in album] == [(True, "증거 사진"), (True, None)]
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    mixed = files_form(person.id, png, ("notes.txt", b"hello", "text/plain"))
    _, body = await control(http, stand, "POST", "upload", data=mixed)
    assert [m["document"]["file_name"] for m in body["result"]] == ["shot.png", "notes.txt"]
    as_file = files_form(person.id, png, **{"as": "document"})
    _, body = await control(http, stand, "POST", "upload", data=as_file)
    assert body["result"][0]["document"]["mime_type"] == "image/png"
    fake = files_form(person.id, ("x.png", b"not an image", "image/png"))
    _, body = await control(http, stand, "POST", "upload", data=fake)
    assert "document" in body["result"][0]
    status, body = await control(http, stand, "POST", "upload", data=files_form(person.id))
    assert status == 400 and "attach 1-10 files" in body["error"]
    # The bot receives them as updates and can download what the person sent.
    _, updates = await api("getUpdates", json={})
    photo = updates["result"][0]["message"]["photo"][-1]
    _, file = await api("getFile", json={"file_id": photo["file_id"]})
    url = f"{stand.base_url}/file/bot{account.token}/{file['result']['file_path']}"
    async with http.get(url) as response:
        assert await response.read() == PNG_1x1


async def test_files_show_images_inline_and_everything_else_as_downloads(
    stand: StandIn, account: Any, http: aiohttp.ClientSession
) -> None:
    person = stand.create_user("Minji")
    page = ("page.html", b"<script>alert(1)</script>", "text/html")
    form = files_form(person.id, ("a.png", PNG_1x1, "image/png"), page)
    _, body = await control(http, stand, "POST", "upload", data=form)
    image_id = body["result"][0]["document"]["file_id"]
    html_id = body["result"][1]["document"]["file_id"]
    async with http.get(f"{stand.base_url}/sandbox/api/files/{image_id}") as response:
        assert response.content_type == "image/png" and await response.read() == PNG_1x1
    async with http.get(f"{stand.base_url}/sandbox/api/files/{html_id}") as response:
        assert response.content_type == "application/octet-stream"
        assert response.headers["Content-Disposition"] == 'attachment; filename="page.html"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with http.get(f"{stand.base_url}/sandbox/api/files/nope") as response:
        assert response.status == 404


async def test_edits_members_commands_and_the_log(
    stand: StandIn, account: Any, http: aiohttp.ClientSession, api: Api
) -> None:
    person = stand.create_user("Aru", language_code="kk")
    sent = await person.send("сәлем")
    body = {"user_id": person.id, "message_id": sent["message_id"], "text": "сәлеметсіз бе"}
    status, answer = await control(http, stand, "POST", "edit", json=body)
    assert status == 200 and answer["result"]["edit_date"]
    _, updates = await api("getUpdates", json={})
    assert updates["result"][-1]["edited_message"]["text"] == "сәлеметсіз бе"

    group = stand.create_supergroup("Desk", forum=True)
    body = {"chat_id": group.id, "user_id": person.id, "status": "administrator"}
    assert (await control(http, stand, "POST", "members", json=body))[0] == 200
    assert group.chat.status_of(person.id).is_admin
    await api(
        "setMyCommands",
        json={
            "commands": [{"command": "start", "description": "Бастау"}],
            "scope": {"type": "all_private_chats"},
            "language_code": "kk",
        },
    )
    _, answer = await control(http, stand, "GET", f"commands?user_id={person.id}")
    assert answer["result"] == [{"command": "start", "description": "Бастау"}]
    _, answer = await control(
        http, stand, "GET", f"commands?user_id={person.id}&chat_id={group.id}"
    )
    assert answer["result"] == []

    await api("sendMessage", json={"chat_id": 1, "text": "nobody"})
    _, answer = await control(http, stand, "GET", "inspect")
    assert answer["result"]["failed"] == 1
    assert answer["result"]["recent"][-1]["error"] == "Bad Request: chat not found"

    body = {"user_id": person.id, "text": "x", "chat_id": group.id, "thread_id": 999}
    status, answer = await control(http, stand, "POST", "send", json=body)
    assert status == 400 and "no topic 999" in answer["error"]
