"""The user service on a real database, without aiogram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.migrate import upgrade
from bot.services.users import TOUCH_INTERVAL, Profile, UserService
from db.engine import create_engine, create_sessionmaker
from db.models import User, utcnow


@pytest.fixture
async def session(sqlite_url: str) -> AsyncIterator[AsyncSession]:
    await asyncio.to_thread(upgrade, sqlite_url)
    engine = create_engine(sqlite_url)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def test_first_contact_creates_the_user_in_their_language(session: AsyncSession) -> None:
    user = await UserService(session).on_contact(Profile(7, "Minji", "minji", "ko-KR"))
    session.expunge_all()
    stored = await session.get(User, 7)
    assert stored is not None and user.language == stored.language == "ko"
    assert stored.telegram_language == "ko-KR"


async def test_unknown_language_falls_back_to_english(session: AsyncSession) -> None:
    user = await UserService(session).on_contact(Profile(8, "Hans", None, "de"))
    assert user.language == "en"


async def test_an_ordinary_update_writes_nothing(session: AsyncSession) -> None:
    service = UserService(session)
    now = utcnow()
    await service.on_contact(Profile(9, "Aigerim", None, "kk"), now=now)
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", record)
    try:
        user = await service.on_contact(
            Profile(9, "Aigerim", None, "kk"), now=now + timedelta(minutes=5)
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert writes == [] and user.last_seen_at == now  # read only, within the interval
    later = now + TOUCH_INTERVAL + timedelta(seconds=1)
    user = await service.on_contact(Profile(9, "Aigerim", None, "kk"), now=later)
    assert user.last_seen_at == later


async def test_language_choice_is_stored_and_checked(session: AsyncSession) -> None:
    service = UserService(session)
    user = await service.on_contact(Profile(10, "Ivan", None, "ru"))
    await service.set_language(user, "kk")
    session.expunge_all()
    assert (await session.get(User, 10)).language == "kk"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        await service.set_language(user, "xx")
