"""Every kind of message a person can send, wherever they are: outside any dialog, at a text
question, at the evidence step, and with an active ticket (where nothing may be lost)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import bot.delivery
from db.models import DraftAttachment, RelayedMessage
from sandbox.driver import CONTENT_SAMPLES, GroupDriver, UserDriver
from tests.abuse.support import dead_letters, file_ticket, settle, to_step
from tests.conftest import RunningBot
from tests.helpers import eventually, tr
from tests.test_intake_dialog import PNG
from tests.test_tickets_load import RelaxedWorker

FILE_KINDS = ("voice", "audio", "animation", "sticker", "video", "document", "photo")
NOT_EVIDENCE = ("text", *CONTENT_SAMPLES, "voice", "audio", "animation", "sticker")
UNSUPPORTED = "I can't work with this kind of message. Please send text or use the menu."


async def send_kind(user: UserDriver, kind: str) -> dict:
    if kind == "text":
        return await user.send("that is all I have")
    if kind in CONTENT_SAMPLES:
        return await user.send_content(kind)
    return await user.send_file(kind, PNG)


@pytest.mark.parametrize("kind", [*CONTENT_SAMPLES, *FILE_KINDS])
async def test_outside_a_dialog_every_kind_gets_one_translated_answer(
    app: RunningBot, kind: str
) -> None:
    user = app.stand.create_user("Ivan", language_code="ru")
    await send_kind(user, kind)
    reply = await user.expect_message()
    assert reply["text"] == tr(app.resources.i18n, "ru", UNSUPPORTED)
    await user.expect_no_message(within=0.2)
    assert await dead_letters(app) == []


async def test_an_album_outside_a_dialog_is_answered_once(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send_album([("photo", PNG)] * 5)
    assert (await user.expect_message(timeout=5))["text"] == UNSUPPORTED
    await user.expect_no_message(within=2.0)
    assert await dead_letters(app) == []


@pytest.mark.parametrize("kind", [*CONTENT_SAMPLES, *FILE_KINDS])
async def test_at_a_text_question_every_kind_asks_for_text(app: RunningBot, kind: str) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await to_step(app, user, "location")
    await send_kind(user, kind)
    assert (await user.expect_message())["text"] == "Please answer this question with text."
    assert await dead_letters(app) == []


@pytest.mark.parametrize("kind", NOT_EVIDENCE)
async def test_at_the_evidence_step_other_kinds_are_refused_with_a_hint(
    app: RunningBot, kind: str
) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await to_step(app, user, "evidence")
    await send_kind(user, kind)
    hint = await user.expect_message()
    assert hint["text"] == (
        "Only photos, documents and videos can be added as evidence. Send one of those, "
        "or press the button above to go on."
    )
    assert await dead_letters(app) == []
    async with app.resources.sessionmaker() as session:
        assert list(await session.scalars(select(DraftAttachment))) == []


@pytest.fixture
def relaxed_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pacing: the staff group's 20 a minute would make this test wait half a minute."""
    monkeypatch.setattr(bot.delivery, "OutboxWorker", RelaxedWorker)


async def test_with_an_active_ticket_every_kind_reaches_staff(
    relaxed_outbox: None, desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    kinds = [k for k in (*CONTENT_SAMPLES, *FILE_KINDS) if k != "game"]
    for kind in kinds:
        await send_kind(user, kind)
    await user.send_forwarded("Look what the seller wrote to me", origin=user)
    copies = await staff_chat.expect_messages(len(kinds) + 1, thread_id=ticket.topic_id)
    for kind, copy in zip(kinds, copies, strict=False):
        assert kind in copy, f"{kind} did not reach staff as {kind}: {copy}"
    assert copies[-1]["text"] == "Look what the seller wrote to me"

    async def statuses() -> list[str]:
        async with desk_app.resources.sessionmaker() as session:
            return [r.status for r in await session.scalars(select(RelayedMessage))]

    done = await eventually(statuses, lambda found: found.count("delivered") == len(kinds) + 1)
    assert done == ["delivered"] * (len(kinds) + 1)
    await user.expect_no_message(within=0.3)  # relayed silently (a reaction marks delivery)
    await settle(desk_app)
    assert await dead_letters(desk_app) == []
