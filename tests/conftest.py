"""Fixtures: the Bot API stand-in on a free port, and the real bot polling it over HTTP."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.app import Resources, create_bot, create_dispatcher, create_resources, load_faq_index
from bot.config import REPO_ROOT, Settings, load_settings
from bot.faq.content import FaqBase
from bot.faq.match import FaqMatcher
from bot.migrate import upgrade
from sandbox.driver import GroupDriver, UserDriver
from sandbox.server import StandIn

LOCALES = REPO_ROOT / "locales"


def pytest_configure(config: pytest.Config) -> None:
    # Compile the catalogues, so a bare `pytest` sees the same texts as `make test`.
    for po_path in LOCALES.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


@pytest.fixture
async def stand() -> AsyncIterator[StandIn]:
    stand = StandIn()
    await stand.start()
    try:
        yield stand
    finally:
        await stand.stop()
    assert stand.violations == [], "the bot sent requests the Bot API spec does not allow"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ipdesk.db'}"


@dataclass(repr=False)  # its parts are large; asyncio formats task results with repr()
class RunningBot:
    settings: Settings
    resources: Resources
    bot: Bot
    dp: Dispatcher
    stand: StandIn
    polling: asyncio.Task[None]


@pytest.fixture(scope="session")
def faq_index() -> tuple[FaqBase, FaqMatcher]:
    """The FAQ content, loaded and indexed once: it is immutable."""
    return load_faq_index(load_settings(env_file=None))


@pytest.fixture
async def make_app(
    stand: StandIn, sqlite_url: str, faq_index: tuple[FaqBase, FaqMatcher]
) -> AsyncIterator[Callable[[], Awaitable[RunningBot]]]:
    """Start the bot as `python -m bot run` builds it, long-polling the stand-in."""
    running: list[tuple[RunningBot, asyncio.Task[None]]] = []

    async def start(*, complaints: bool = True, **overrides: object) -> RunningBot:
        """`complaints` gives the bot a staff forum (complaints open only with one)."""
        account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
        if complaints and "staff_chat_id" not in overrides:
            overrides["staff_chat_id"] = stand.create_supergroup("staff", forum=True).id
        settings = load_settings(
            env_file=None,
            bot_token=account.token,
            telegram_api_base=stand.base_url,
            database_url=sqlite_url,
            **overrides,
        )
        await asyncio.to_thread(upgrade, sqlite_url)
        resources = create_resources(settings, faq=faq_index)
        bot = create_bot(settings)
        dp = create_dispatcher(settings, resources)
        started = asyncio.Event()

        async def mark_started() -> None:  # runs after the bot's own start-up hooks
            started.set()

        dp.startup.register(mark_started)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, polling_timeout=5)
        )
        await asyncio.wait_for(started.wait(), 10)
        app = RunningBot(settings, resources, bot, dp, stand, polling)
        running.append((app, polling))
        return app

    yield start
    for app, polling in running:
        if not polling.done():
            await app.dp.stop_polling()
        await asyncio.wait_for(polling, 30)
        await app.resources.close()


@pytest.fixture
async def app(make_app: Callable[[], Awaitable[RunningBot]]) -> RunningBot:
    return await make_app()


@pytest.fixture
def staff_chat(stand: StandIn) -> GroupDriver:
    """The staff forum supergroup."""
    return stand.create_supergroup("ipdesk staff", forum=True)


@pytest.fixture
def specialist(stand: StandIn, staff_chat: GroupDriver) -> UserDriver:
    """A member of staff (STAFF_IDS) in the staff forum."""
    person = stand.create_user("Aigul", language_code="ru")
    staff_chat.add_member(person, status="administrator")
    return person


@pytest.fixture
async def desk_app(
    make_app: Callable[..., Awaitable[RunningBot]],
    staff_chat: GroupDriver,
    specialist: UserDriver,
) -> RunningBot:
    """The bot with the staff forum configured and itself an administrator there."""
    app = await make_app(staff_chat_id=staff_chat.id, staff_ids=str(specialist.id))
    staff_chat.add_bot(app.stand.world.bots[app.bot.id])
    return app


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The machine's PostgreSQL, or a loud skip (a failure under IPDESK_REQUIRE_SERVICES=1)."""
    url = os.environ.get("IPDESK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    if not _reachable(url):
        reason = f"PostgreSQL not reachable at {url}"
        if os.environ.get("IPDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and IPDESK_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    yield url


def _reachable(url: str) -> bool:
    import socket

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False
