"""Media through the desk: evidence of every kind filed in every language, media relayed both
ways, captions edited both ways, and what staff see when a copy is late or cannot arrive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

import bot.delivery
from bot.config import LANGUAGES
from bot.delivery import Delivery
from bot.services.desk import ALBUM_STALE_SECONDS
from db.models import RelayedMessage, Ticket, TicketAttachment
from sandbox.driver import GroupDriver, UserDriver
from sandbox.events import EventKind
from sandbox.files import FileKind
from sandbox.server import StandIn
from sandbox.state import now
from sandbox.tghtml import FormattedText, detect_entities
from tests.conftest import RunningBot
from tests.helpers import eventually, tr
from tests.test_intake_dialog import PNG
from tests.test_relay import filed
from tests.test_tickets_load import RelaxedWorker

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
OGG = b"OggS" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64


async def send_file(
    user: UserDriver, kind: FileKind, data: bytes, caption: str | None = None, **where: Any
) -> dict[str, Any]:
    """One file of any kind (the driver has public helpers for photos and documents only)."""
    name = "evidence.pdf" if kind is FileKind.DOCUMENT else None
    mime = "application/pdf" if kind is FileKind.DOCUMENT else None
    sent = await user._send_files([(kind, data, name, mime)], caption, **where)
    return sent[0]


async def edit_caption(user: UserDriver, message: dict[str, Any], caption: str) -> None:
    """The person edits the caption of their media message: an edited_message update."""
    stored = user.current(message)
    formatted = detect_entities(FormattedText(caption, []))
    stored.caption, stored.caption_entities, stored.edit_date = (
        formatted.text,
        formatted.entities,
        now(),
    )
    user.stand.world.edited(stored)
    user.stand.world.deliver(stored, edited=True)


def reactions(stand: StandIn, chat_id: int, message_id: int) -> list[str]:
    """The bot's reactions set on one message, in order."""
    return [
        item["emoji"]
        for event in stand.world.events.events
        if event.kind is EventKind.REACTION
        and event.chat_id == chat_id
        and (event.message or {}).get("message_id") == message_id
        for item in event.data.get("reaction", [])
    ]


@pytest.fixture
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The group's ≈20 messages a minute would make seven evidence copies take 15 s."""
    monkeypatch.setattr(bot.delivery, "OutboxWorker", RelaxedWorker)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_filing_with_every_kind_of_evidence_in_each_language(
    unpaced: None, desk_app: RunningBot, staff_chat: GroupDriver, lang: str
) -> None:
    user = desk_app.stand.create_user("Tester", language_code=lang)
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:online")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:design")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    for answer in ("shop.example/fake", "Copies of our design sold online", "ACME", "a@acme.kz"):
        await user.send(answer)
        await user.expect_message()
    await user.send_photo(PNG, caption="the listing")
    await user.expect_message()
    await user.send_document(PDF, "evidence.pdf", "application/pdf")
    await user.expect_message()
    await send_file(user, FileKind.VIDEO, MP4)
    await user.expect_message()
    await user.send_album([("photo", PNG), ("video", MP4), ("photo", PNG)])
    ack = await user.expect_message(timeout=5)  # one answer once the album has gone quiet
    await user.press(ack, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(), callback_data="c:consent:consent:")
    summary = await user.expect_edit()
    assert tr(desk_app.resources.i18n, lang, "Online infringement") in summary["text"]
    await user.press(summary, callback_data="c:confirm::")
    receipt = await user.expect_edit()

    async with desk_app.resources.sessionmaker() as session:
        parts = list(await session.scalars(select(TicketAttachment).order_by(TicketAttachment.id)))
    assert [p.kind for p in parts] == ["photo", "document", "video", "photo", "video", "photo"]
    assert len({p.media_group_id for p in parts[3:]}) == 1 and parts[0].media_group_id is None

    async def the_ticket() -> Ticket | None:
        async with desk_app.resources.sessionmaker() as session:
            return await session.scalar(select(Ticket))

    ticket = await eventually(the_ticket, lambda t: t is not None and t.topic_id is not None)
    assert ticket is not None and ticket.language == lang
    card, *evidence = await staff_chat.expect_messages(7, thread_id=ticket.topic_id)
    number = card["text"].split()[1]
    assert number in receipt["text"] and card["text"].endswith("остаются внутренними.")
    assert [next(k for k in ("photo", "document", "video") if k in m) for m in evidence] == [
        "photo",
        "document",
        "video",
        "photo",
        "video",
        "photo",
    ]
    assert evidence[0]["caption"] == "the listing"


async def test_media_both_ways_and_caption_edits_mirrored(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    stand = desk_app.stand
    user = stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    topic = ticket.topic_id
    await staff_chat.expect_messages(2, thread_id=topic)

    photo = await user.send_photo(PNG, caption="The <b>shop</b> front")
    await send_file(user, FileKind.VOICE, OGG)
    await send_file(user, FileKind.STICKER, WEBP)
    await user.send_document(PDF, "invoice.pdf", "application/pdf", caption="invoice")
    arrived = await staff_chat.expect_messages(4, thread_id=topic)
    assert [
        next(k for k in ("photo", "voice", "sticker", "document") if k in m) for m in arrived
    ] == [
        "photo",
        "voice",
        "sticker",
        "document",
    ]
    assert arrived[0]["caption"] == "The <b>shop</b> front"  # the user's text, not markup

    await edit_caption(user, photo, "The shop front, Abay street")
    edited = await staff_chat.expect_edit(thread_id=topic)
    assert edited["message_id"] == arrived[0]["message_id"]
    assert edited["caption"] == "The shop front, Abay street"

    answer = await send_file(
        specialist, FileKind.PHOTO, PNG, "Это тот магазин?", chat=staff_chat, thread_id=topic
    )
    received = await user.expect_message()
    assert "photo" in received and received["caption"] == "Это тот магазин?"
    await edit_caption(specialist, answer, "Это тот самый магазин?")
    assert (await user.expect_edit())["caption"] == "Это тот самый магазин?"

    # A media note stays internal.
    await send_file(
        specialist, FileKind.PHOTO, PNG, "// фото для архива", chat=staff_chat, thread_id=topic
    )
    await user.expect_no_message(within=0.5)

    async with desk_app.resources.sessionmaker() as session:
        relays = list(await session.scalars(select(RelayedMessage).order_by(RelayedMessage.id)))
    assert [(r.direction, r.content, r.preview) for r in relays] == [
        ("to_staff", "photo", "The shop front, Abay street"),
        ("to_staff", "voice", None),
        ("to_staff", "sticker", relays[2].preview),  # the sticker's emoji, if it has one
        ("to_staff", "document", "invoice"),
        ("to_user", "photo", "Это тот самый магазин?"),
    ]
    assert all(r.status == "delivered" for r in relays)


async def test_staff_see_retrying_then_delivered_and_blocked(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    stand = desk_app.stand
    user = stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    topic = ticket.topic_id
    await staff_chat.expect_messages(2, thread_id=topic)

    stand.faults.server_error("copyMessage", 502, when="before", chat_id=user.id)
    late = await specialist.send("Мы проверяем", chat=staff_chat, thread_id=topic)
    assert (await user.expect_message(timeout=8))["text"] == "Мы проверяем"

    async def marks_on_late() -> list[str]:
        return reactions(stand, staff_chat.id, late["message_id"])

    assert await eventually(marks_on_late, lambda m: m == ["⚡", "👌"]) == ["⚡", "👌"]

    user.block_bot()
    lost = await specialist.send("Вы здесь?", chat=staff_chat, thread_id=topic)
    notice = await staff_chat.expect_message(thread_id=topic)
    assert notice["text"].startswith(f"Пользователь обращения {ticket.number} заблокировал бота")

    async def marks_on_lost() -> list[str]:
        return reactions(stand, staff_chat.id, lost["message_id"])

    assert await eventually(marks_on_lost, lambda m: m == ["💔"]) == ["💔"]


async def test_an_album_is_relayed_as_one_album_both_ways(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    stand = desk_app.stand
    user = stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    topic = ticket.topic_id
    await staff_chat.expect_messages(2, thread_id=topic)

    sent = await user.send_album(
        [("photo", PNG), ("video", MP4), ("photo", PNG)], caption="All three"
    )
    copies = await staff_chat.expect_messages(3, thread_id=topic, timeout=8)
    groups = {m.get("media_group_id") for m in copies}
    assert len(groups) == 1 and None not in groups  # one album, not three messages
    assert [next(k for k in ("photo", "video") if k in m) for m in copies] == [
        "photo",
        "video",
        "photo",
    ]
    assert copies[0]["caption"] == "All three"
    copy_albums = [r for r in stand.bot_requests("copyMessages") if r.effect]
    assert len(copy_albums) == 1

    async def parts() -> list[RelayedMessage]:
        async with desk_app.resources.sessionmaker() as session:
            rows = await session.scalars(
                select(RelayedMessage)
                .where(RelayedMessage.source_chat_id == user.chat_id)
                .order_by(RelayedMessage.source_message_id)
            )
            return list(rows)

    stored = await eventually(parts, lambda rows: all(r.status == "delivered" for r in rows))
    assert [r.target_message_id for r in stored] == [m["message_id"] for m in copies]
    assert [r.source_message_id for r in stored] == [m["message_id"] for m in sent]

    # An edit of the album's caption reaches the part that carries it.
    await edit_caption(user, sent[0], "All three, from the market")
    edited = await staff_chat.expect_edit(timeout=15)  # the group's budget refills first
    assert (edited["message_id"], edited["caption"]) == (
        copies[0]["message_id"],
        "All three, from the market",
    )

    await specialist.send_album([("photo", PNG), ("photo", PNG)], chat=staff_chat, thread_id=topic)
    received = await user.expect_messages(2, timeout=8)
    assert len({m.get("media_group_id") for m in received}) == 1
    assert all("photo" in m for m in received)


async def test_album_parts_left_by_a_restart_are_sent_by_the_sweep(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    """The process stopped during an album's quiet period: its stored parts wait in the
    database, and the hand-off sweep sends them as one album."""
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    delivery = desk_app.dp["delivery"]
    assert isinstance(delivery, Delivery) and delivery.desk is not None
    sent = await user.send_album([("photo", PNG), ("photo", PNG)])

    async def stored() -> list[RelayedMessage]:
        async with desk_app.resources.sessionmaker() as session:
            return list(await session.scalars(select(RelayedMessage)))

    parts = await eventually(stored, lambda rows: len(rows) == 2, interval=0.01)
    await delivery.albums.close(flush=False)  # as if the process died: the timer is gone
    assert [p.status for p in parts] == ["album", "album"]
    await staff_chat.expect_no_message(within=2.0, thread_id=ticket.topic_id)

    async with desk_app.resources.sessionmaker() as session:  # ten seconds later
        for part in await session.scalars(select(RelayedMessage)):
            part.created_at = part.created_at - timedelta(seconds=ALBUM_STALE_SECONDS + 1)
        await session.commit()
    await delivery.desk.handoff_pending()  # the sweep's round
    copies = await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    assert len({m["media_group_id"] for m in copies}) == 1
    assert [r.source_message_id for r in await stored()] == [m["message_id"] for m in sent]
