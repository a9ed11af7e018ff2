"""Webhook faults with two replicas behind one URL: the same update delivered to both (after
the first answer, or racing it), an update delivered again because the bot answered too late,
and requests with a wrong or missing secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from db.models import ProcessedUpdate, RelayedMessage, User
from sandbox.server import StandIn
from sandbox.webhook import Redelivery
from tests.faults.conftest import (
    SECRET,
    STEP,
    MakeDesk,
    Row,
    answer_questions,
    copies,
    count_stored,
    receipt_number,
    until,
)

pytestmark = pytest.mark.own_backend  # PostgreSQL and Redis of its own, in the first pass only

WEBHOOK_TIMEOUT = 3.0  # the stand-in gives up on an answer after this and delivers again
TWICE = {
    "/complaint": Redelivery.RACE,
    "Fake phones with our logo": Redelivery.AFTER,
    "c:consent:consent:": Redelivery.RACE,
    "Relayed, raced": Redelivery.RACE,
    "Relayed, after": Redelivery.AFTER,
}


def twice(update: dict[str, Any]) -> Redelivery | None:
    message = update.get("message") or {}
    key = message.get("text") or (update.get("callback_query") or {}).get("data")
    return TWICE.get(key or "")


async def test_two_replicas_and_redelivered_updates(
    make_desk: MakeDesk, stand: StandIn, record: Callable[[Row], None]
) -> None:
    stand.webhook_timeout = WEBHOOK_TIMEOUT
    desk = await make_desk(replicas=2, redeliver=twice)
    jane, omar = desk.person("Jane"), desk.person("Omar")

    # Jane: some updates reach both replicas. Omar: his Confirm takes longer than the webhook
    # timeout (the receipt is slow to send), so it is delivered again while still running.
    summary = await answer_questions(jane)
    await jane.press(summary, callback_data="c:confirm::")
    receipts = {jane.id: receipt_number(await jane.expect_edit(STEP))}
    summary = await answer_questions(omar)
    slow = stand.faults.delay("editMessageText", WEBHOOK_TIMEOUT + 1.5, chat_id=omar.id)
    await omar.press(summary, callback_data="c:confirm::")
    receipts[omar.id] = receipt_number(await omar.expect_edit(STEP + WEBHOOK_TIMEOUT))
    await desk.answered(within=30)
    assert slow.fired == 1
    timed_out = [a for a in stand.webhook_attempts if a.error == "Read timeout expired"]
    assert timed_out, "no update took longer than the webhook timeout: the test proved nothing"
    await until(desk.topic_ready)

    texts = ["Relayed, raced", "Relayed, after"]
    for text in texts:
        await jane.send(text)
    await desk.answered()
    tickets = await desk.tickets()
    topic = next(t.topic_id for t in tickets if t.user_id == jane.id)
    await until(lambda: copies(stand, desk.staff.id, texts, topic)[0] == len(texts), within=30)
    await desk.settled()
    delivered, duplicated = copies(stand, desk.staff.id, texts)
    async with desk.sessionmaker() as session:
        relays = await session.scalar(select(func.count()).select_from(RelayedMessage))
    twice_delivered = [a.update_id for a in stand.webhook_attempts if a.status == 200]
    assert len(twice_delivered) > len(set(twice_delivered)), "nothing was delivered twice"
    assert {a.url for a in stand.webhook_attempts} == {
        f"http://127.0.0.1:{port}/webhook" for port in desk.ports
    }
    assert len([r for r in stand.bot_requests("createForumTopic") if r.ok]) == 2
    for person in (jane, omar):  # each answer once, whichever replica had it
        said = [m.get("text") for m in stand.delivered(person.id)]
        assert len(said) == len(set(said)), f"{person.user.first_name} was told something twice"
    record(
        Row(
            "two replicas receive the same update; a redelivery after a webhook timeout",
            accepted=len(receipts),
            stored=count_stored(tickets, receipts),
            relayed_sent=len(texts),
            delivered=delivered,
            duplicated=duplicated,
        )
    )
    assert relays == len(texts) and await desk.dead_letters() == 0

    # Wrong and missing secrets: 401, and nothing is processed.
    async with desk.sessionmaker() as session:
        before = (
            await session.scalar(select(func.count()).select_from(ProcessedUpdate)),
            await session.scalar(select(func.count()).select_from(User)),
        )
    update = {
        "update_id": 999_000_001,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 4242, "type": "private", "first_name": "Mallory"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Mallory"},
            "text": "/complaint",
        },
    }
    statuses = []
    async with aiohttp.ClientSession() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}, {}):
            for port in desk.ports:
                url = f"http://127.0.0.1:{port}/webhook"
                async with http.post(url, json=update, headers=headers) as answer:
                    statuses.append(answer.status)
    async with desk.sessionmaker() as session:
        after = (
            await session.scalar(select(func.count()).select_from(ProcessedUpdate)),
            await session.scalar(select(func.count()).select_from(User)),
        )
    assert statuses == [401] * 4 and after == before
    assert not stand.bot_requests(chat_id=4242)
