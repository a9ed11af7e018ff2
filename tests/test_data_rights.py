"""A person's data: /mydata hands over every row about them, /deleteme removes the person and
keeps the case, and retention purges what has aged out."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.services.privacy import RetentionSweep
from db.models import (
    Base,
    Draft,
    DraftAttachment,
    FaqFeedback,
    FaqQuery,
    Ticket,
    User,
    utcnow,
)
from sandbox.driver import GroupDriver
from tests.conftest import RunningBot
from tests.helpers import visible
from tests.test_relay import filed


async def test_mydata_holds_every_row_about_the_person(desk_app: RunningBot) -> None:
    user = desk_app.stand.create_user("Minji", language_code="ko")
    ticket = await filed(desk_app, user)  # a complaint with a photo, relayed to staff
    await user.send("/start")  # not relayed: a command
    await user.expect_message()
    other = desk_app.stand.create_user("Eve", language_code="en")
    await other.send("/start")
    await other.expect_message()
    async with desk_app.resources.sessionmaker() as s:
        await s.execute(
            insert(FaqQuery),
            [
                {
                    "user_id": user.id,
                    "text": "상표 등록 기간",
                    "lang": "ko",
                    "outcome": "answer",
                    "entry_id": "trademark-registration-how",
                    "score": 0.9,
                },
                {
                    "user_id": other.id,
                    "text": "not mine",
                    "lang": "en",
                    "outcome": "none",
                    "score": 0.1,
                },
            ],
        )
        await s.execute(
            insert(FaqFeedback),
            [{"user_id": user.id, "entry_id": "patent-fees", "helpful": True}],
        )
        await s.commit()

    await user.send("/mydata")
    reply = await user.expect_message()
    assert reply["document"]["file_name"] == f"ipdesk-mydata-{user.id}.json"
    assert "/deleteme" in reply["caption"]
    data = json.loads(desk_app.stand.world.files.get(reply["document"]["file_id"]).data)

    assert data["user"]["id"] == user.id and data["user"]["language"] == "ko"
    [mine] = data["tickets"]
    assert mine["id"] == ticket.id and mine["company"] == "ACME Korea"
    assert [q["text"] for q in data["faq_queries"]] == ["상표 등록 기간"]
    assert [f["entry_id"] for f in data["faq_feedback"]] == ["patent-fees"]
    assert len(data["drafts"]) == 1 and data["drafts"][0]["submitted_at"]
    assert len(data["draft_attachments"]) == 1
    assert len(data["ticket_attachments"]) == 1
    assert all(row["ticket_id"] == ticket.id for row in data["relayed_messages"])
    # Every table that leads to the person by foreign keys is in the file: none is forgotten.
    linked = {"users"}
    while True:
        more = {
            t.name
            for t in Base.metadata.tables.values()
            if any(fk.column.table.name in linked for fk in t.foreign_keys)
        } - linked
        if not more:
            break
        linked |= more
    assert linked - {"users"} <= set(data), linked - set(data)
    assert {"tickets", "drafts", "draft_attachments", "relayed_messages", "outbox"} <= linked
    assert "not mine" not in json.dumps(data, ensure_ascii=False)


async def test_deleteme_removes_the_person_and_keeps_the_case(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Minji", language_code="ko")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)  # card and evidence
    async with desk_app.resources.sessionmaker() as s:
        await s.execute(
            insert(FaqQuery),
            [
                {
                    "user_id": user.id,
                    "text": "비밀 질문",
                    "lang": "ko",
                    "outcome": "none",
                    "score": 0,
                }
            ],
        )
        s.add(Draft(id=str(uuid.uuid4()), user_id=user.id, step="description"))
        await s.commit()

    await user.send("/deleteme")
    ask = await user.expect_message()
    await user.press(ask, callback_data="del:1")
    await user.expect_callback_answer()
    done = await user.expect_edit()
    assert done["text"].startswith("회원님의 정보를 삭제했습니다")

    async with desk_app.resources.sessionmaker() as s:
        assert await s.get(User, user.id) is None
        assert await s.scalar(select(func.count()).select_from(Draft)) == 0
        assert await s.scalar(select(func.count()).select_from(DraftAttachment)) == 0
        assert await s.scalar(select(func.count()).select_from(FaqQuery)) == 0
        kept = await s.get(Ticket, ticket.id)
        assert kept is not None
        assert kept.user_id is None and kept.contact == "" and kept.anonymised_at is not None
        assert kept.company == "ACME Korea" and kept.description  # the case stays
    notice = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert ticket.number in notice["text"] and "персональные данные" in notice["text"]


async def test_deleteme_can_be_cancelled(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/deleteme")
    ask = await user.expect_message()
    assert "stay with our staff" in visible(ask["text"])
    await user.press(ask, callback_data="del:0")
    await user.expect_callback_answer()
    assert (await user.expect_edit())["text"] == "Nothing was deleted."
    async with app.resources.sessionmaker() as s:
        assert await s.get(User, user.id) is not None


async def test_retention_purges_old_closed_tickets_and_stale_drafts(app: RunningBot) -> None:
    # The bot's own sweep runs at start-up, maybe late, on today's clock: these rows are not
    # yet due for it. This sweep's clock is a week on, when they are.
    now = utcnow()
    day = timedelta(days=1)
    week_on = now + 7 * day
    async with app.resources.sessionmaker() as s:
        await s.execute(insert(User), [{"id": 5, "first_name": "Old", "language": "ru"}])

        def ticket(closed_days_ago: int | None) -> dict[str, object]:
            return {
                "draft_id": str(uuid.uuid4()),
                "user_id": 5,
                "language": "ru",
                "kind": "online",
                "right": "copyright",
                "location": "site.kz",
                "description": "copies",
                "company": "Studio",
                "contact": "studio@example.com",
                "status": "closed" if closed_days_ago is not None else "new",
                "created_at": now - 2000 * day,
                "closed_at": now - closed_days_ago * day if closed_days_ago is not None else None,
            }

        await s.execute(insert(Ticket), [ticket(3 * 365 - 3), ticket(100), ticket(None)])
        await s.execute(
            insert(Draft),
            [
                {"id": "old", "user_id": 5, "step": "kind", "updated_at": now - 27 * day},
                {"id": "new", "user_id": 5, "step": "kind", "updated_at": now - 20 * day},
            ],
        )
        await s.commit()

    sweep = RetentionSweep(
        app.resources.sessionmaker, ticket_days=3 * 365, draft_days=30, clock=lambda: week_on
    )
    counts = await sweep.run_once()
    assert (counts.tickets, counts.drafts) == (1, 1)
    async with app.resources.sessionmaker() as s:
        rows = (await s.execute(select(Ticket.closed_at, Ticket.contact, Ticket.user_id))).all()
        contacts = sorted((r.contact, r.user_id) for r in rows)
        assert contacts == [("", None), ("studio@example.com", 5), ("studio@example.com", 5)]
        assert list(await s.scalars(select(Draft.id))) == ["new"]
    again = await sweep.run_once()
    assert (again.tickets, again.drafts) == (0, 0)
