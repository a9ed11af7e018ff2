"""The spec check: malformed requests are refused and recorded; bad output is caught."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from sandbox.methods import HANDLERS, messages
from sandbox.server import StandIn
from sandbox.spec import Spec, SpecMissingError, Upload
from tests.sandbox.conftest import Api


@pytest.fixture
async def chat_id(stand: StandIn) -> int:
    user = stand.create_user("Aru")
    await user.send("/start")
    return user.id


async def test_wrong_type_is_refused_and_recorded(api: Api, stand: StandIn, chat_id: int) -> None:
    status, body = await api("sendMessage", json={"chat_id": chat_id, "text": 5})
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: sendMessage: text: expected String, got int 5",
    }
    assert stand.violations == ["sendMessage: text: expected String, got int 5"]


async def test_unknown_parameter_is_refused(api: Api, stand: StandIn, chat_id: int) -> None:
    status, body = await api(
        "sendMessage", json={"chat_id": chat_id, "text": "x", "disable_web_page_preview": True}
    )
    assert status == 400
    assert 'unknown parameter "disable_web_page_preview"' in body["description"]
    assert stand.violations == ['sendMessage: unknown parameter "disable_web_page_preview"']


async def test_missing_required_parameter_is_refused(api: Api, stand: StandIn) -> None:
    status, _ = await api("sendMessage", json={"text": "x"})
    assert status == 400
    assert stand.violations == ['sendMessage: parameter "chat_id" is required']


async def test_nested_objects_are_checked(api: Api, stand: StandIn, chat_id: int) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a", "colour": "red"}]]}
    status, _ = await api(
        "sendMessage", json={"chat_id": chat_id, "text": "x", "reply_markup": markup}
    )
    assert status == 400
    assert stand.violations[0] == (
        'sendMessage: reply_markup.inline_keyboard[0][0]: unknown field "colour" in '
        "InlineKeyboardButton"
    )


async def test_subtypes_are_told_apart_by_their_discriminator(stand: StandIn) -> None:
    spec = stand.spec
    assert spec is not None
    member = {"status": "administrator", "user": {"id": 1, "is_bot": False, "first_name": "A"}}
    problems = spec.check_object("ChatMember", member)
    assert 'ChatMember: ChatMemberAdministrator needs field "can_manage_chat"' in problems
    scope = {"type": "chat", "chat_id": 5}
    assert spec.check_object("BotCommandScope", scope) == []
    assert spec.check_object("BotCommandScope", {"type": "chat"}) != []


async def test_documented_values_are_enforced(stand: StandIn) -> None:
    spec = stand.spec
    assert spec is not None
    assert spec.check_object("MessageEntity", {"type": "bold", "offset": 0, "length": 1}) == []
    assert spec.check_object("MessageEntity", {"type": "fat", "offset": 0, "length": 1}) == [
        'MessageEntity.type: str "fat" is not one of the documented values'
    ]


async def test_unknown_method_is_a_404_and_a_violation(api: Api, stand: StandIn) -> None:
    status, body = await api("sendTelepathy", json={})
    assert (status, body["description"]) == (404, "Not Found: method not found")
    assert stand.violations == ["sendTelepathy: no such Bot API method"]


def break_send_message(monkeypatch: pytest.MonkeyPatch, **chat_fields: object) -> None:
    """sendMessage answers without the message's date (and with `chat_fields` in its chat)."""

    async def broken(call: Any) -> dict[str, Any]:
        message = await messages.send_message(call)
        del message["date"]
        message["chat"].update(chat_fields)
        return message

    monkeypatch.setitem(HANDLERS, "sendMessage", broken)


async def test_bad_output_of_the_stand_in_is_caught(
    api: Api, stand: StandIn, chat_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prove the output check can fail: break sendMessage's result on purpose."""
    break_send_message(monkeypatch, colour="red")
    status, _ = await api("sendMessage", json={"chat_id": chat_id, "text": "x"})
    assert status == 200
    assert stand.violations == [
        'stand-in output: sendMessage: result: Message needs field "date"',
        'stand-in output: sendMessage: result.chat: unknown field "colour" in Chat',
    ]


async def test_a_benchmark_stand_in_skips_its_output_check_but_not_the_requests(
    api: Api, stand: StandIn, chat_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_send_message(monkeypatch)
    stand.check_output = False  # as bench/throughput.py builds it
    status, _ = await api("sendMessage", json={"chat_id": chat_id, "text": "x"})
    assert status == 200 and stand.violations == []
    status, _ = await api("sendMessage", json={"chat_id": chat_id, "text": "x", "colour": 1})
    assert status == 400 and stand.violations != []


def test_form_values_are_decoded_by_declared_type(stand: StandIn) -> None:
    spec = stand.spec
    assert spec is not None
    method = spec.method("sendphoto")
    assert method is not None
    upload = Upload("f1", b"img", "a.jpg", "image/jpeg")
    params, problems = spec.decode_params(
        method,
        {
            "chat_id": "-100123",
            "photo": "attach://f1",
            "disable_notification": "true",
            "reply_parameters": '{"message_id": 3}',
        },
        form=True,
        uploads={"f1": upload},
    )
    assert problems == []
    assert params == {
        "chat_id": -100123,
        "photo": upload,
        "disable_notification": True,
        "reply_parameters": {"message_id": 3},
    }


def test_missing_spec_is_loud(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPDESK_REQUIRE_SERVICES", raising=False)  # CI sets it
    with caplog.at_level(logging.WARNING):
        stand = StandIn(spec_path=tmp_path / "nope.json")
    assert stand.spec_loaded is False
    assert "BOT API SPEC NOT FOUND" in caplog.text


def test_missing_spec_fails_when_services_are_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPDESK_REQUIRE_SERVICES", "1")
    with pytest.raises(SpecMissingError):
        Spec.load(tmp_path / "nope.json")


def test_spec_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file = tmp_path / "mini.json"
    spec_file.write_text('{"version": "Bot API 0.1", "methods": {}, "types": {}}')
    monkeypatch.setenv("IPDESK_BOTAPI_SPEC", str(spec_file))
    spec = Spec.load()
    assert spec is not None and spec.version == "Bot API 0.1"


async def test_without_spec_the_stand_in_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPDESK_REQUIRE_SERVICES", raising=False)  # CI sets it
    async with StandIn(spec_path=tmp_path / "nope.json") as stand:
        account = stand.create_bot()
        user = stand.create_user("Aru")
        await user.send("/start")
        async with ClientSession() as http:
            url = f"{stand.base_url}/bot{account.token}/sendMessage"
            async with http.post(url, data={"chat_id": str(user.id), "text": "hi"}) as response:
                assert response.status == 200
        assert (await user.expect_message())["text"] == "hi"
        assert stand.violations == []
