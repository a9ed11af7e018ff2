"""Filing a complaint, without aiogram: answers stored as given, validation, one ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.migrate import upgrade
from bot.services.intake import AnswerError, IntakeService, Invalid, Kind, Step
from bot.services.users import Profile, UserService
from db.engine import create_engine, create_sessionmaker
from db.models import Draft, Ticket, TicketAttachment, User


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, sqlite_url)
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_sessionmaker(engine)() as session:
        yield session


async def person(session: AsyncSession, user_id: int = 1, lang: str = "ko") -> User:
    return await UserService(session).on_contact(Profile(user_id, "Minji", None, lang))


async def fill(service: IntakeService, draft: Draft) -> None:
    assert await service.choose(draft, Step.KIND, "counterfeit") is Step.RIGHT
    assert await service.choose(draft, Step.RIGHT, "trademark") is Step.REGISTRATION
    assert await service.answer(draft, Step.REGISTRATION, "KZ 12345") is Step.LOCATION
    assert (
        await service.answer(draft, Step.LOCATION, "Barakholka market, Almaty") is Step.DESCRIPTION
    )
    assert (
        await service.answer(draft, Step.DESCRIPTION, "Fake phones with our logo") is Step.COMPANY
    )
    assert await service.answer(draft, Step.COMPANY, "ACME Korea") is Step.CONTACT
    assert await service.answer(draft, Step.CONTACT, "legal@acme.kr") is Step.EVIDENCE
    assert await service.skip(draft, Step.EVIDENCE) is Step.CONSENT
    assert await service.consent(draft) is Step.SUMMARY


async def test_each_answer_is_stored_as_it_is_given(session: AsyncSession, engine) -> None:
    user = await person(session)
    service = IntakeService(session)
    draft = await service.start(user.id)
    await service.choose(draft, Step.KIND, "online")
    await service.answer(draft, Step.LOCATION, "https://shop.example/item/1")
    async with create_sessionmaker(engine)() as other:  # another connection sees it committed
        stored = await other.get(Draft, draft.id)
    assert stored is not None and stored.kind == "online"
    assert stored.location == "https://shop.example/item/1"


@pytest.mark.parametrize(
    ("step", "raw", "reason"),
    [
        (Step.DESCRIPTION, "short", Invalid.TOO_SHORT),
        (Step.DESCRIPTION, "x" * 3001, Invalid.TOO_LONG),
        (Step.CONTACT, "call me", Invalid.BAD_CONTACT),
        (Step.REGISTRATION, "<script>", Invalid.BAD_REGISTRATION),
        (Step.COMPANY, " ", Invalid.TOO_SHORT),
    ],
)
async def test_bad_answers_are_refused_and_change_nothing(
    session: AsyncSession, step: Step, raw: str, reason: Invalid
) -> None:
    user = await person(session)
    service = IntakeService(session)
    draft = await service.start(user.id)
    with pytest.raises(AnswerError) as err:
        await service.answer(draft, step, raw)
    assert err.value.reason is reason
    assert draft.step == Step.KIND


async def test_a_forged_choice_is_refused(session: AsyncSession) -> None:
    user = await person(session)
    service = IntakeService(session)
    draft = await service.start(user.id)
    with pytest.raises(AnswerError):
        await service.choose(draft, Step.KIND, "weapons")


async def test_submit_files_one_ticket_and_makes_it_active(session: AsyncSession) -> None:
    user = await person(session)
    service = IntakeService(session)
    draft = await service.start(user.id, kind=Kind.COUNTERFEIT)
    await service.add_attachment(
        draft,
        kind="photo",
        file_id="f1",
        file_unique_id="u1",
        media_group_id="g",
        source_message_id=5,
    )
    assert (
        await service.add_attachment(
            draft,
            kind="photo",
            file_id="f1",
            file_unique_id="u1",
            media_group_id="g",
            source_message_id=5,
        )
        == 1
    )  # the same message again is kept once
    await fill(service, draft)
    first = await service.submit(draft, user)
    again = await service.submit(draft, user)
    assert first.id == again.id
    assert first.number == f"IP-{first.created_at.year}-{first.id:06d}"
    assert (await session.scalar(select(func.count()).select_from(Ticket))) == 1
    assert (await session.scalar(select(func.count()).select_from(TicketAttachment))) == 1
    assert user.active_ticket_id == first.id and first.language == "ko"


async def test_an_edit_returns_to_the_summary(session: AsyncSession) -> None:
    user = await person(session)
    service = IntakeService(session)
    draft = await service.start(user.id)
    await fill(service, draft)
    await service.edit(draft, Step.COMPANY)
    assert await service.answer(draft, Step.COMPANY, "ACME Korea Ltd") is Step.SUMMARY


async def test_concurrent_confirms_file_once(engine: AsyncEngine) -> None:
    maker = create_sessionmaker(engine)
    async with maker() as session:
        user = await person(session)
        service = IntakeService(session)
        draft = await service.start(user.id)
        await fill(service, draft)
        draft_id = draft.id

    async def confirm() -> int:
        async with maker() as session:
            draft = await session.get(Draft, draft_id)
            user = await session.get(User, 1)
            assert draft is not None and user is not None
            return (await IntakeService(session).submit(draft, user)).id

    ids = await asyncio.gather(*(confirm() for _ in range(5)))
    assert len(set(ids)) == 1
    async with maker() as session:
        assert (await session.scalar(select(func.count()).select_from(Ticket))) == 1
