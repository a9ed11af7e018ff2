"""SIGKILL of the bot's process at the worst moments: while it tells a person their complaint
is filed, while it carries messages to staff, while it creates a ticket's topic, halfway through
a broadcast. Started again, it carries on; nothing accepted is lost."""

from __future__ import annotations

import pytest

from handlers.admin_views import BroadcastCb
from sandbox.server import StandIn
from tests.faults.conftest import (
    STEP,
    MakeDesk,
    Row,
    answer_questions,
    copies,
    count_stored,
    file_complaint,
    receipt_number,
    until,
)

pytestmark = pytest.mark.own_backend  # PostgreSQL and Redis of its own, in the first pass only


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_killed_while_telling_a_person_their_complaint_is_filed(
    make_desk: MakeDesk, record, mode: str
) -> None:
    """The ticket is committed, the receipt is on its way (the request hangs), the process
    dies. Started again, the redelivered Confirm files nothing new and shows the receipt of
    the one ticket (its press is too old to answer by then: that is no error). Long polling
    has no webhook answer to withhold: there the press comes again because the bot confirms
    an update only once it is handled (bot/polling.py)."""
    desk = await make_desk(MODE=mode)
    jane, omar = desk.person("Jane"), desk.person("Omar")
    summary = await answer_questions(jane)
    hang = desk.stand.faults.timeout("editMessageText", chat_id=jane.id, seconds=60)
    await jane.press(summary, callback_data="c:confirm::")
    await until(lambda: hang.fired == 1)
    await desk.restart()

    # The redelivered press is not filed again; its lost screen is shown: the receipt.
    receipts = {jane.id: receipt_number(await jane.expect_edit(STEP))}
    receipts[omar.id] = await file_complaint(omar)  # and the desk works for the next person
    await desk.answered()  # every update handled (and, polling, confirmed)

    tickets = await desk.tickets()
    record(
        Row(
            f"SIGKILL during intake, {mode} (receipt in flight)",
            accepted=len(receipts),
            stored=count_stored(tickets, receipts),
        )
    )
    assert len(tickets) == 2 and await desk.dead_letters() == 0


async def test_killed_while_carrying_messages_to_staff(make_desk: MakeDesk, record) -> None:
    """Three messages are accepted (answered 200, in the outbox); the first copy reaches the
    topic but its answer never comes back, and the process dies there. Started again (its
    leases run out), every message reaches the topic; only the one in flight may be doubled."""
    desk = await make_desk()
    jane = desk.person("Jane")
    number = await file_complaint(jane)
    [ticket] = await desk.tickets()
    await until(desk.topic_ready)
    texts = [f"Fake box number {i}, bought at stall {i * 7}" for i in range(1, 4)]
    hang = desk.stand.faults.timeout("copyMessage", when="after", chat_id=desk.staff.id)
    for text in texts:
        await jane.send(text)
    await desk.answered()  # all five accepted
    await until(lambda: hang.fired == 1)
    await desk.restart()

    topic = (await desk.tickets())[0].topic_id
    await until(lambda: copies(desk.stand, desk.staff.id, texts, topic)[0] == len(texts))
    await desk.settled()
    delivered, duplicated = copies(desk.stand, desk.staff.id, texts, topic)
    record(
        Row(
            "SIGKILL during relay (a copy in flight)",
            accepted=1,
            stored=count_stored(await desk.tickets(), {jane.id: number}),
            relayed_sent=len(texts),
            delivered=delivered,
            duplicated=duplicated,
            after_effect=hang.fired,
        )
    )
    order = [m["text"] for m in desk.stand.delivered(desk.staff.id, thread_id=topic)]
    assert [t for t in dict.fromkeys(order) if t in texts] == texts, "out of order"
    assert ticket.id and await desk.dead_letters() == 0


async def test_killed_while_creating_a_ticket_topic(make_desk: MakeDesk, record) -> None:
    """The topic is created but the answer never comes back; the process dies. Started again,
    the hand-off sweep gives the ticket a topic (the orphan one stays empty: the after-effect
    duplicate), its card is posted once, and the conversation goes there."""
    desk = await make_desk()
    jane = desk.person("Jane")
    hang = desk.stand.faults.timeout("createForumTopic", when="after")
    number = await file_complaint(jane)  # the receipt comes before the hand-off
    await until(lambda: hang.fired == 1)
    await desk.restart()

    await until(desk.topic_ready)
    await jane.send("Is anyone there?")
    [ticket] = await desk.tickets()
    await until(lambda: copies(desk.stand, desk.staff.id, ["Is anyone there?"], ticket.topic_id)[0])
    await desk.settled()
    delivered, duplicated = copies(desk.stand, desk.staff.id, ["Is anyone there?"])
    cards = [
        m
        for m in desk.stand.delivered(desk.staff.id)
        if (m.get("text") or "").startswith(f"🆕 {number}")
    ]
    orphans = len(desk.staff.topics()) - 1
    record(
        Row(
            "SIGKILL during topic creation (orphan topic counted as duplicate)",
            accepted=1,
            stored=count_stored([ticket], {jane.id: number}),
            relayed_sent=1,
            delivered=delivered,
            duplicated=duplicated + orphans + len(cards) - 1,
            after_effect=hang.fired,
        )
    )
    assert len(cards) == 1 and cards[0].get("message_thread_id") == ticket.topic_id


async def test_killed_halfway_through_a_broadcast(
    make_desk: MakeDesk, stand: StandIn, record
) -> None:
    """Eight people opted in; the process dies with an announcement sent but unanswered (and
    whatever else was in flight) and the rest waiting. Started again (the leases run out),
    everyone gets it; only those whose send was in flight may get it twice."""
    boss = stand.create_user("Boss", language_code="en")
    desk = await make_desk(BROADCAST_RATE="4", ADMIN_IDS=str(boss.id))
    people = [desk.person(f"Reader {i}") for i in range(8)]
    for person in [boss, *people]:
        await person.send("/start")
        await person.expect_message(STEP)
    await desk.opt_in_to_news([p.id for p in people])

    text = "The customs register has been updated"
    hang = desk.stand.faults.timeout("sendMessage", when="after", chat_id=people[2].id)
    await boss.send("/broadcast")
    menu = await boss.expect_message(STEP)
    await boss.press(menu, callback_data=BroadcastCb(action="mode", value="one").pack())
    await boss.expect_edit(STEP)
    await boss.send(text)
    audience = await boss.expect_message(STEP)
    await boss.press(
        audience, callback_data=BroadcastCb(action="audience", id=0, value="all").pack()
    )
    *_preview, confirm = await boss.expect_messages(2, STEP)
    await boss.press(confirm, callback_data=BroadcastCb(action="send").pack())
    await until(lambda: hang.fired == 1)
    await desk.kill()

    def got() -> list[int]:
        return [len(desk.stand.delivered(p.id, text=text)) for p in people]

    # Sends in flight when it died (leased, unsettled): each may have reached its person.
    in_flight = await desk.announcements_in_flight()
    await desk.start_after_crash()

    await until(lambda: all(got()), within=30)

    async def finished() -> bool:  # every recipient settled: no retry still to come
        return not await desk.announcements_in_flight(("pending", "sending"))

    await until(finished, within=30)
    record(
        Row(
            "SIGKILL during a broadcast (sends in flight)",
            relayed_sent=len(people),
            delivered=sum(1 for n in got() if n),
            duplicated=sum(n - 1 for n in got()),
            after_effect=len(in_flight),
        )
    )
    assert people[2].id in in_flight
