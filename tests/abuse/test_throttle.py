"""50 messages in 5 seconds: throttled with ONE translated notice; complaint content never lost
(a person with an active ticket or in the dialog is not slowed down at all)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.middlewares.throttle import FloodGauge, Verdict
from db.models import Draft, DraftAttachment, FaqQuery, OutboxMessage, RelayedMessage
from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import count, dead_letters, file_ticket, settle, throttle_of
from tests.conftest import RunningBot
from tests.helpers import eventually, tr
from tests.test_intake_dialog import PNG

# Flood control is per process and in memory: the PostgreSQL + Redis pass only slows the
# updates past its 5-second windows, it does not change what is tested.
pytestmark = pytest.mark.backend_independent

BURST = 50
SKIPPED = (
    "You are sending messages faster than I can read them, so I skipped some. "
    "Please wait a few seconds, then write again."
)
KEPT = (
    "You are sending messages very fast. Nothing you send is lost, but please slow down a little."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def later(app: RunningBot, seconds: float) -> None:
    """Move the flood gauges' clocks on (the window passes without waiting for it)."""
    for gauge in (throttle_of(app).private, throttle_of(app).group):
        gauge.clock = lambda: time.monotonic() + seconds


def texts_to(app: RunningBot, user: UserDriver) -> list[str]:
    return [m.get("text", "") for m in app.stand.delivered(user.chat_id)]


# -- the gauge, without a bot ---------------------------------------------------------------


def test_the_gauge_passes_ten_in_five_seconds_and_tells_once() -> None:
    clock = Clock()
    gauge = FloodGauge(10, 5.0, clock=clock)
    verdicts = [gauge.hit(1) for _ in range(BURST)]
    assert verdicts[:10] == [Verdict.PASS] * 10
    assert verdicts[10] is Verdict.OVER_NOTIFY
    assert set(verdicts[11:]) == {Verdict.OVER}
    assert gauge.hit(2) is Verdict.PASS  # per person
    clock.now += 5.01
    assert gauge.hit(1) is Verdict.PASS  # the window has passed
    assert [gauge.hit(1) for _ in range(10)][-1] is Verdict.OVER  # told a minute ago
    clock.now += 60
    assert [gauge.hit(1) for _ in range(11)][-1] is Verdict.OVER_NOTIFY


def test_an_album_counts_once_and_quiet_senders_are_forgotten() -> None:
    clock = Clock()
    gauge = FloodGauge(3, 5.0, clock=clock)
    assert {gauge.hit(1, album="a") for _ in range(10)} == {Verdict.PASS}
    assert [gauge.hit(1) for _ in range(3)][-1] is Verdict.OVER_NOTIFY
    for sender in range(20_000):
        gauge.hit(sender + 10)
    clock.now += 120
    gauge.hit(99_999)
    assert len(gauge._senders) < 20_000


# -- through the bot -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "kk"])
async def test_fifty_questions_get_ten_answers_and_one_notice(app: RunningBot, lang: str) -> None:
    user = app.stand.create_user("Spammer", language_code=lang)
    for i in range(BURST):
        await user.send(f"how do I register a trademark {i}")
    await settle(app)
    sent = texts_to(app, user)
    notice = tr(app.resources.i18n, lang, SKIPPED)
    assert sent.count(notice) == 1
    assert len(sent) == 11  # ten answers and the notice
    assert await count(app, FaqQuery) == 10
    later(app, 6)
    await user.send("how do I register a trademark")
    await settle(app)
    assert len(texts_to(app, user)) == 12 and texts_to(app, user).count(notice) == 1
    assert await dead_letters(app) == []


async def test_fifty_presses_are_all_answered_and_ten_acted_on(app: RunningBot) -> None:
    user = app.stand.create_user("Spammer", language_code="en")
    await user.send("/start")
    menu = await user.expect_message()
    presses = [
        await user.press(menu, forged=f"m:{'help' if i % 2 else 'home'}") for i in range(BURST)
    ]
    await settle(app)
    account = app.stand.world.bots[app.bot.id]
    assert all(account.callbacks[p["id"]].answer is not None for p in presses)  # no spinners
    assert texts_to(app, user).count(SKIPPED) == 1
    edits = [r for r in app.stand.bot_requests("editMessageText") if r.ok]
    assert len(edits) <= 9  # /start was one of the ten
    assert await dead_letters(app) == []


async def test_with_an_active_ticket_all_fifty_reach_staff(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="ru")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    await user.send_album([("photo", PNG)] * 5)
    for i in range(BURST - 10):
        await user.send(f"more details, part {i}")
    for _ in range(5):
        await user.send_photo(PNG)
    await settle(desk_app)
    async with desk_app.resources.sessionmaker() as session:
        relays = list(await session.scalars(select(RelayedMessage)))
    assert len(relays) == BURST and len({r.source_message_id for r in relays}) == BURST
    assert tr(desk_app.resources.i18n, "ru", SKIPPED) not in texts_to(desk_app, user)

    later(desk_app, 6)  # a fresh window (/complaint counted)
    for _ in range(BURST):  # commands are answered, not relayed: they count
        await user.send("/help")
    await settle(desk_app)
    helps = [t for t in texts_to(desk_app, user) if t.startswith("Что я умею")]
    assert len(helps) == 10
    assert texts_to(desk_app, user).count(tr(desk_app.resources.i18n, "ru", SKIPPED)) == 1
    copies = OutboxMessage.relay_id.in_([r.id for r in relays])
    # All queued for staff: 45 one by one, the album's five parts as one album once quiet.
    queued = await eventually(lambda: count(desk_app, OutboxMessage, copies), lambda n: n >= 46)
    assert queued == BURST - 5 + 1

    async def arrived() -> int:  # the outbox paces the group: 3 at once, then 20 a minute
        return len(desk_app.stand.delivered(staff_chat.id, thread_id=ticket.topic_id))

    assert await eventually(arrived, lambda n: n >= 4, within=10) >= 4
    assert await dead_letters(desk_app) == []


async def test_in_the_complaint_dialog_every_answer_and_file_is_stored(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    for answer in ("Almaty market", "Fake phones since May", "ACME", "+7 701 123 45 67"):
        await user.send(answer)
    for _ in range(20):
        await user.send_photo(PNG)
    for i in range(BURST - 24):
        await user.send(f"and one more thing {i}")
    await settle(app)
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.step == "evidence"
    assert (draft.location, draft.description, draft.company, draft.contact) == (
        "Almaty market",
        "Fake phones since May",
        "ACME",
        "+7 701 123 45 67",
    )
    assert await count(app, DraftAttachment) == 20
    assert SKIPPED not in texts_to(app, user)  # nothing was skipped
    assert await dead_letters(app) == []


async def test_a_stranger_flooding_the_staff_chat_gets_three_refusals(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    stranger = desk_app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(stranger)
    posts = len(desk_app.stand.delivered(staff_chat.id))
    for i in range(BURST):
        await stranger.send(f"spam {i}", chat=staff_chat, thread_id=ticket.topic_id)
    await settle(desk_app)
    assert len(desk_app.stand.delivered(staff_chat.id)) == posts + 3
    for i in range(30):  # staff are never slowed down
        await specialist.send(f"answer {i}", chat=staff_chat, thread_id=ticket.topic_id)
    await settle(desk_app)
    assert await count(desk_app, RelayedMessage, RelayedMessage.direction == "to_user") == 30
    assert await dead_letters(desk_app) == []
