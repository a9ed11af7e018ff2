"""Saved replies: admins keep the library from the staff chat; a specialist picks one in a
topic and the user gets it in their own language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from db.models import CannedReply
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import buttons
from tests.lifecycle_support import Team, start_team

DOCS = {
    "kk": "Тауар белгісіне куәліктің көшірмесін жіберіңіз.",
    "ru": "Пришлите, пожалуйста, копию свидетельства на товарный знак.",
    "ko": "상표 등록증 사본을 보내 주십시오.",
    "en": "Please send a copy of the trademark certificate & the power of attorney <PDF>.",
}
ADD_DOCS = "/canned_add docs\n" + "\n".join(f"{lang}: {text}" for lang, text in DOCS.items())


@pytest.fixture
async def team(
    make_app: Callable[..., Awaitable[RunningBot]], staff_chat: GroupDriver, specialist: UserDriver
) -> Team:
    return await start_team(make_app, staff_chat, specialist)


async def library(team: Team) -> dict[str, dict[str, str]]:
    async with team.app.resources.sessionmaker() as session:
        replies = await session.scalars(select(CannedReply))
        return {r.name: {lang: r.text(lang) for lang in DOCS} for r in replies}


async def test_admins_keep_the_library(team: Team) -> None:
    await team.boss.send(ADD_DOCS, chat=team.chat)
    assert (await team.general())["text"] == "Шаблон «docs» сохранён."
    assert await library(team) == {"docs": DOCS}

    await team.boss.send(ADD_DOCS, chat=team.chat)
    assert (await team.general())["text"].startswith("Шаблон с таким именем уже есть")
    await team.boss.send("/canned_add fees\nru: Пошлина зависит от класса.", chat=team.chat)
    missing = (await team.general())["text"]
    assert missing.startswith("Для нового шаблона нужны все четыре языка; не хватает: kk, ko, en.")
    await team.boss.send("/canned_add шаблон\nen: x", chat=team.chat)
    assert (await team.general())["text"].startswith("Имя — до 32 латинских букв")

    edit = "/canned_edit docs\nen: Please send the certificate.\nIt may be a scan."
    await team.boss.send(edit, chat=team.chat)
    assert (await team.general())["text"] == "Шаблон «docs» сохранён."
    changed = (await library(team))["docs"]
    assert changed == {**DOCS, "en": "Please send the certificate.\nIt may be a scan."}

    await team.aigul.send("/canned", chat=team.chat)  # in the general topic: the library
    listed = (await team.general())["text"]
    assert listed.startswith("Шаблоны ответов\n\ndocs\n  kk: Тауар белгісіне")
    assert "  en: Please send the certificate. It may be a scan." in listed

    await team.boss.send("/canned_del docs", chat=team.chat)
    assert (await team.general())["text"] == "Шаблон «docs» удалён."
    await team.boss.send("/canned_del docs", chat=team.chat)
    assert (await team.general())["text"].startswith("Шаблона с таким именем нет")
    assert await library(team) == {}


async def test_only_admins_change_the_library(team: Team) -> None:
    await team.aigul.send(ADD_DOCS, chat=team.chat)
    assert (await team.general())["text"] == "Менять шаблоны ответов могут только администраторы."
    await team.stranger.send(ADD_DOCS, chat=team.chat)
    assert (await team.general())["text"] == (
        "Действовать здесь могут только сотрудники; ничего не изменено."
    )
    assert await library(team) == {}


@pytest.mark.parametrize("lang", ["kk", "ru", "ko", "en"])
async def test_a_saved_reply_reaches_the_user_in_their_language(team: Team, lang: str) -> None:
    await team.boss.send(ADD_DOCS, chat=team.chat)
    await team.general()
    user = team.app.stand.create_user("Client", language_code=lang)
    ticket, _card = await team.file(user)

    menu = await team.say(team.aigul, "/canned", ticket)
    assert menu["text"] == (
        f"Выберите шаблон: пользователь обращения {ticket.number} получит его на своём языке "
        f"({lang.upper()})."
    )
    assert buttons(menu) == ["docs"]
    await team.aigul.press(menu, "docs")
    shown = await team.chat.expect_edit(thread_id=ticket.topic_id)
    assert shown["text"] == (f"📨 Шаблон «docs» отправлен на языке {lang.upper()}:\n\n{DOCS[lang]}")
    assert (await user.expect_message())["text"] == DOCS[lang]  # escaped, shown as written
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by) == ("in_progress", team.aigul.id)
    assert stored.first_response_at is not None


async def test_a_stranger_cannot_send_a_saved_reply(team: Team) -> None:
    await team.boss.send(ADD_DOCS, chat=team.chat)
    await team.general()
    user = team.app.stand.create_user("Client", language_code="en")
    ticket, _card = await team.file(user)
    menu = await team.say(team.aigul, "/canned", ticket)
    await team.stranger.press(menu, "docs")
    assert await team.stranger.expect_callback_answer() == (
        "Действовать здесь могут только сотрудники; ничего не изменено."
    )
    await user.expect_no_message(within=0.5)
    assert (await team.ticket(ticket.id)).first_response_at is None
