"""Shared by the lifecycle tests: a desk with two specialists and an admin, a movable clock,
and short ways to file a ticket and read it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services.lifecycle import Lifecycle
from db.models import Ticket, TicketEvent
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import eventually
from tests.test_intake_dialog import file_a_complaint

ALMATY = ZoneInfo("Asia/Almaty")


def almaty(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Almaty, as aware UTC (the 16th and 23rd are Mondays)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


MONDAY_10 = almaty(23, 10)


@dataclass
class Team:
    app: RunningBot
    chat: GroupDriver
    aigul: UserDriver  # staff, no username
    daniyar: UserDriver  # staff, @daniyar_k
    boss: UserDriver  # admin
    stranger: UserDriver  # a member of the chat, not staff
    _general_seen: set[int] = field(default_factory=set)

    @property
    def lifecycle(self) -> Lifecycle:
        lifecycle = self.app.dp["lifecycle"]
        assert isinstance(lifecycle, Lifecycle)
        return lifecycle

    def set_clock(self, moment: datetime) -> None:
        self.lifecycle.clock = lambda: moment

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.app.resources.sessionmaker() as session:
            ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket

    async def events(self, ticket_id: int) -> list[tuple[str, int | None, str | None]]:
        async with self.app.resources.sessionmaker() as session:
            rows = await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
            return [(e.kind, e.actor_id, e.detail) for e in rows]

    async def file(self, user: UserDriver) -> tuple[Ticket, dict]:
        """A filed ticket once its card is in its topic; (ticket, card)."""
        summary = await file_a_complaint(self.app, user)
        await user.press(summary, callback_data="c:confirm::")
        await user.expect_edit()

        async def newest() -> Ticket | None:
            async with self.app.resources.sessionmaker() as session:
                return await session.scalar(
                    select(Ticket).where(Ticket.user_id == user.id).order_by(Ticket.id.desc())
                )

        ticket = await eventually(newest, lambda t: t is not None and t.topic_id is not None)
        assert ticket is not None and ticket.topic_id is not None
        card = await self.chat.expect_message(thread_id=ticket.topic_id)
        await self.chat.expect_message(thread_id=ticket.topic_id)  # the photo
        await user.expect_no_message(within=0.1)
        return ticket, card

    async def general(self, within: float = 5.0) -> dict:
        """The next bot message in the chat's general topic (outside every ticket's topic)."""

        async def fresh() -> list[dict]:
            return [
                m
                for m in self.chat.messages()
                if m.get("from", {}).get("id") == self.app.bot.id
                and "message_thread_id" not in m
                and m["message_id"] not in self._general_seen
            ]

        found = await eventually(fresh, bool, within=within)
        if not found:
            raise AssertionError("no bot message in the general topic")
        self._general_seen.add(found[0]["message_id"])
        return found[0]

    async def say(self, who: UserDriver, text: str, ticket: Ticket) -> dict:
        """`who` writes in the ticket's topic; the bot's reply there."""
        await who.send(text, chat=self.chat, thread_id=ticket.topic_id)
        return await self.chat.expect_message(thread_id=ticket.topic_id)


async def start_team(
    make_app: Callable[..., Awaitable[RunningBot]],
    staff_chat: GroupDriver,
    specialist: UserDriver,
    **settings: object,
) -> Team:
    stand = staff_chat.stand
    daniyar = stand.create_user("Daniyar", language_code="kk", username="Daniyar_K")
    boss = stand.create_user("Boss", language_code="en", username="boss")
    stranger = stand.create_user("Mallory", language_code="en")
    for person in (daniyar, boss):
        staff_chat.add_member(person, status="administrator")
    staff_chat.add_member(stranger)
    app = await make_app(
        staff_chat_id=staff_chat.id,
        staff_ids=f"{specialist.id},{daniyar.id}",
        admin_ids=str(boss.id),
        **settings,
    )
    staff_chat.add_bot(app.stand.world.bots[app.bot.id])
    team = Team(app, staff_chat, specialist, daniyar, boss, stranger)
    # Monday 10:00 in Almaty: within working hours (no off-hours auto-replies), whenever the
    # tests run; tests move it as they need.
    team.set_clock(MONDAY_10)
    return team
