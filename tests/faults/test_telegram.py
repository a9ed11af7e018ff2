"""Telegram misbehaving, before and after a send takes effect, while a person and staff talk
through one bot process: floods of 429 (retry_after waited out), 500 and a proxy's 502 page,
timeouts, a blocked bot (staff are told), a lost or deleted topic (re-created once), and a
staff group upgraded to a supergroup (its new id followed, also after a restart)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest

from sandbox.driver import UserDriver
from tests.faults.conftest import (
    Desk,
    MakeDesk,
    Row,
    copies,
    count_stored,
    file_complaint,
    until,
)

pytestmark = pytest.mark.own_backend  # PostgreSQL and Redis of its own, in the first pass only


def after_effect(desk: Desk, since: int) -> int:
    """Injected faults since request `since` where the call took effect anyway."""
    return sum(1 for r in desk.stand.requests[since:] if r.fault and r.effect)


async def to_staff(desk: Desk, user: UserDriver, texts: list[str]) -> tuple[int, int]:
    """The person writes; (delivered, duplicated) once each text is in the ticket's topic."""
    for text in texts:
        await user.send(text)
    await desk.answered()

    async def arrived() -> bool:
        topic = (await desk.tickets())[0].topic_id
        return copies(desk.stand, desk.staff.id, texts, topic)[0] == len(texts)

    await until(arrived, within=30)
    return copies(desk.stand, desk.staff.id, texts)


async def to_user(desk: Desk, user: UserDriver, texts: list[str]) -> tuple[int, int]:
    """Staff answer in the topic; (delivered, duplicated) once the person has each text."""
    topic = (await desk.tickets())[0].topic_id
    for text in texts:
        await desk.specialist.send(text, chat=desk.staff, thread_id=topic)
    await desk.answered()
    await until(lambda: copies(desk.stand, user.id, texts)[0] == len(texts), within=30)
    return copies(desk.stand, user.id, texts)


async def test_telegram_faults_in_a_conversation(
    make_desk: MakeDesk, record: Callable[[Row], None]
) -> None:
    desk = await make_desk()
    stand, staff = desk.stand, desk.staff
    jane = desk.person("Jane")
    number = await file_complaint(jane)
    await until(desk.topic_ready)
    stored = count_stored(await desk.tickets(), {jane.id: number})
    rows: list[Row] = []

    async def fault_round(
        name: str, inject: Callable[[], object], *, both_at_once: bool = True
    ) -> None:
        """One message each way (staff's forum is paced at 20 a minute) through the faults."""
        since = len(stand.requests)
        inject()
        tag = name.split(" (")[0]
        up, down = [f"{tag}: to staff"], [f"{tag}: ответ"]
        if both_at_once:
            (sent_up, dup_up), (sent_down, dup_down) = await asyncio.gather(
                to_staff(desk, jane, up), to_user(desk, jane, down)
            )
        else:  # staff answer in the topic the message went to
            sent_up, dup_up = await to_staff(desk, jane, up)
            sent_down, dup_down = await to_user(desk, jane, down)
        assert not stand.faults.pending, f"{name}: a fault never fired"
        await desk.settled()  # the retries of sends that took effect have happened too
        sent_up, dup_up = copies(stand, staff.id, up)
        sent_down, dup_down = copies(stand, jane.id, down)
        rows.append(
            Row(
                name,
                accepted=1,
                stored=stored,
                relayed_sent=2,
                delivered=sent_up + sent_down,
                duplicated=dup_up + dup_down,
                after_effect=after_effect(desk, since),
            )
        )

    # 429 bursts, both ways: each retry_after is waited out before the chat is tried again.
    await fault_round(
        "429 burst (retry_after honoured), both directions",
        lambda: (
            stand.faults.flood("copyMessage", 1, times=2, chat_id=staff.id),
            stand.faults.flood("copyMessage", 1, times=3, chat_id=jane.id),
        ),
    )
    floods = [r for r in stand.requests if r.error_code == 429]
    assert len(floods) == 5
    for flood in floods:
        retry = flood.response["parameters"]["retry_after"]
        later = [  # the same message tried again
            r.at
            for r in stand.requests
            if r.at > flood.at and (r.method, r.params) == (flood.method, flood.params)
        ]
        assert later and min(later) - flood.at >= retry - 0.05, "retry_after not honoured"

    await fault_round(
        "500 / 502 (JSON 500 after effect, HTML 502 before, JSON 502 after)",
        lambda: (
            stand.faults.server_error("copyMessage", 500, when="after", chat_id=staff.id),
            stand.faults.bad_gateway("copyMessage", chat_id=jane.id),
            stand.faults.bad_gateway("copyMessage", html=False, when="after", chat_id=jane.id),
        ),
    )
    await fault_round(
        "timeouts (no answer, before and after effect; a dropped connection)",
        lambda: (
            stand.faults.timeout("copyMessage", when="after", chat_id=staff.id, seconds=0.5),
            stand.faults.timeout("copyMessage", chat_id=jane.id, seconds=0.5),
            stand.faults.drop_connection("copyMessage", when="before", chat_id=jane.id),
        ),
    )

    # Staff delete the topic: the next send meets "message thread not found" (as for an
    # archived topic) and the ticket gets one new topic, where staff are told what happened.
    [ticket] = await desk.tickets()
    async with aiohttp.ClientSession() as http:
        url = f"{stand.base_url}/bot{desk.account.token}/deleteForumTopic"
        payload = {"chat_id": staff.id, "message_thread_id": ticket.topic_id}
        async with http.post(url, json=payload) as answer:
            assert (await answer.json())["ok"]
    await fault_round(
        "message thread not found: topic deleted by staff (re-created)",
        lambda: None,
        both_at_once=False,
    )
    assert len(staff.topics()) == 1, "one new topic for the lost one"
    assert len([r for r in stand.bot_requests("createForumTopic") if r.ok]) == 2
    [ticket] = await desk.tickets()
    notices = [
        m
        for m in stand.delivered(staff.id, thread_id=ticket.topic_id)
        if number in (m.get("text") or "") and not m["text"].startswith("🆕")
    ]
    assert notices, "staff were not told the topic was re-created"

    # The person blocks the bot: staff's next answer cannot be delivered, and they are told.
    jane.block_bot()
    since = len(stand.requests)
    await desk.specialist.send("Are you still there?", chat=staff, thread_id=ticket.topic_id)

    def told() -> list[dict]:
        return [
            m
            for m in stand.delivered(staff.id, thread_id=ticket.topic_id)
            if number in (m.get("text") or "")
            and m not in notices
            and not m["text"].startswith("🆕")
        ]

    await until(told)
    rows.append(
        Row(
            "403 bot blocked by the user (staff told in the topic)",
            accepted=1,
            stored=stored,
            relayed_sent=1,
            refused=1,
            after_effect=after_effect(desk, since),
        )
    )
    assert copies(stand, jane.id, ["Are you still there?"]) == (0, 0)
    for row in rows:
        record(row)
    assert await desk.dead_letters() == 0


async def test_a_staff_group_upgraded_to_a_supergroup(
    make_desk: MakeDesk, record: Callable[[Row], None]
) -> None:
    """The staff chat is a basic group and becomes a supergroup (a new id): the next card is
    sent again to the new id, which is stored; after a restart (its configuration still names
    the old id) staff answer from the supergroup and the person gets it."""
    desk = await make_desk(forum=False)
    jane, minji = desk.person("Jane"), desk.person("Minji", "ko")
    receipts = {jane.id: await file_complaint(jane)}
    await until(desk.topic_ready, within=40)  # a group without topics: after a back-off
    supergroup = desk.staff.migrate_to_supergroup()
    receipts[minji.id] = await file_complaint(minji)
    await until(desk.topic_ready, within=40)
    tickets = await desk.tickets()
    assert {t.staff_chat_id for t in tickets} == {supergroup.id}
    await desk.restart()

    card = next(
        m
        for m in desk.stand.delivered(supergroup.id)
        if (m.get("text") or "").startswith(f"🆕 {receipts[minji.id]}")
    )
    texts = ["Здравствуйте, Minji", "Здравствуйте, Jane"]
    await desk.specialist.send(texts[0], chat=supergroup, reply_to=card)
    await minji.send("Thank you")
    await until(lambda: copies(desk.stand, minji.id, texts[:1])[0] == 1, within=30)
    await until(lambda: copies(desk.stand, supergroup.id, ["Thank you"])[0] == 1, within=30)
    await desk.settled()
    record(
        Row(
            "group migrated to a supergroup (new id followed, kept over a restart)",
            accepted=2,
            stored=count_stored(tickets, receipts),
            relayed_sent=2,
            delivered=copies(desk.stand, minji.id, texts[:1])[0]
            + copies(desk.stand, supergroup.id, ["Thank you"])[0],
        )
    )
