"""What the abuse suite shares: filing with chosen answers, waiting until the bot is idle,
counting dead letters. A bot message as the stand-in stores it is what Telegram shows:
`text` after HTML parsing and `entities` (lengths in UTF-16 code units, as Telegram counts)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.middlewares.throttle import FloodGauge, ThrottleMiddleware
from db.models import DeadLetter, Draft, FaqFeedback, OutboxMessage, RelayedMessage, Ticket, User
from sandbox.driver import UserDriver
from sandbox.tghtml import utf16_len
from tests.conftest import RunningBot
from tests.helpers import eventually

TEXT_LIMIT = 4096  # Telegram's, counted in UTF-16 code units after entity parsing

DEFAULT_ANSWERS: Mapping[str, str] = {
    "location": "Barakholka market, Almaty",
    "description": "Fake phones with our logo, since May",
    "company": "ACME Korea",
    "contact": "legal@acme.example",
}


def entity_kinds(message: dict) -> set[str]:
    """The formatting Telegram applied to a bot message (bold, code, text_link, ...)."""
    return {e["type"] for e in message.get("entities") or message.get("caption_entities") or []}


__all__ = ["utf16_len"]


async def fill_complaint(
    app: RunningBot,
    user: UserDriver,
    answers: Mapping[str, str] | None = None,
    *,
    registration: str | None = None,
) -> dict:
    """Walk the dialog to its summary with `answers` (DEFAULT_ANSWERS for any left out)."""
    given = {**DEFAULT_ANSWERS, **(answers or {})}
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    rights = await user.expect_edit()
    await user.press(rights, callback_data="c:choose:right:trademark")
    step = await user.expect_edit()
    if registration is None:
        await user.press(step, callback_data="c:skip:registration:")
        await user.expect_edit()
    else:
        await user.send(registration)
        await user.expect_message()
    for field in ("location", "description", "company", "contact"):
        await user.send(given[field])
        await user.expect_message()
    last = app.stand.chat_messages(user.chat_id)[-1]
    await user.press(last, callback_data="c:skip:evidence:")
    consent = await user.expect_edit()
    await user.press(consent, callback_data="c:consent:consent:")
    return await user.expect_edit()


async def to_step(app: RunningBot, user: UserDriver, step: str) -> None:
    """Open a complaint and answer up to `step` (location or evidence)."""
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    if step == "evidence":
        for answer in ("Almaty market", "Fake phones since May", "ACME", "+7 701 123 45 67"):
            await user.send(answer)
            await user.expect_message()


async def file_ticket(
    app: RunningBot, user: UserDriver, answers: Mapping[str, str] | None = None, **kw: str
) -> Ticket:
    """File a complaint and wait until its topic exists."""
    summary = await fill_complaint(app, user, answers, **kw)
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()

    async def probe() -> Ticket | None:
        async with app.resources.sessionmaker() as session:
            return await session.scalar(
                select(Ticket).where(Ticket.user_id == user.id).order_by(Ticket.id.desc())
            )

    ticket = await eventually(probe, lambda t: t is not None and t.topic_id is not None)
    assert ticket is not None and ticket.topic_id is not None, "the ticket got no topic"
    return ticket


def throttle_of(app: RunningBot) -> ThrottleMiddleware:
    return next(m for m in app.dp.update.outer_middleware if isinstance(m, ThrottleMiddleware))


def unthrottled(app: RunningBot) -> None:
    """For tests about something else that act faster than any person: no flood limits."""
    throttle = throttle_of(app)
    throttle.private = FloodGauge(1_000_000, 1.0)
    throttle.group = FloodGauge(1_000_000, 1.0)


async def dead_letters(app: RunningBot) -> list[str]:
    async with app.resources.sessionmaker() as session:
        return list(await session.scalars(select(DeadLetter.error).order_by(DeadLetter.id)))


async def count(app: RunningBot, model: type, *where: object) -> int:
    async with app.resources.sessionmaker() as session:
        query = select(func.count()).select_from(model)
        if where:
            query = query.where(*where)
        return int(await session.scalar(query) or 0)


async def settle(app: RunningBot, *, within: float = 10.0) -> None:
    """Wait until the bot has taken every queued update and finished handling it."""
    account = app.stand.world.bots[app.bot.id]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    quiet = 0
    while quiet < 3:
        if loop.time() > deadline:
            raise AssertionError(
                f"the bot did not settle: {len(account.updates.pending)} queued, "
                f"{app.resources.tracker.in_flight} in flight"
            )
        busy = account.updates.pending or app.resources.tracker.in_flight
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Snapshot:
    """What a refused action must leave as it was."""

    users: tuple
    tickets: tuple
    drafts: tuple
    votes: int
    relays: int
    outbox: int


async def snapshot(app: RunningBot) -> Snapshot:
    async with app.resources.sessionmaker() as session:
        users = await session.scalars(select(User).order_by(User.id))
        tickets = await session.scalars(select(Ticket).order_by(Ticket.id))
        drafts = await session.scalars(select(Draft).order_by(Draft.id))
        return Snapshot(
            users=tuple((u.id, u.language, u.active_ticket_id) for u in users),
            tickets=tuple((t.id, t.user_id, t.status, t.closed_at, t.topic_id) for t in tickets),
            drafts=tuple((d.id, d.step, d.submitted_at) for d in drafts),
            votes=await _count(session, FaqFeedback),
            relays=await _count(session, RelayedMessage),
            outbox=await _count(session, OutboxMessage),
        )


async def _count(session: object, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[attr-defined]
