"""Fixtures: the Bot API stand-in on a free port, and the real bot polling it over HTTP.

The backend switch: `IPDESK_TEST_BACKEND=pg` runs every test that starts the bot (`make_app`)
on PostgreSQL and Redis instead of SQLite and memory: one database for the session, emptied
before each test, and Redis keys under a prefix of the test's own (`make test` runs the suite
both ways; the other tests run in the SQLite pass only).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.engine import make_url

import handlers.private
from bot.app import Resources, create_bot, create_dispatcher, create_resources, load_faq_index
from bot.config import REPO_ROOT, Settings, load_settings
from bot.faq.content import FaqBase
from bot.faq.match import FaqMatcher
from bot.migrate import upgrade
from db.engine import create_engine
from db.models import Base
from sandbox.driver import GroupDriver, UserDriver
from sandbox.server import StandIn

LOCALES = REPO_ROOT / "locales"
BACKEND = os.environ.get("IPDESK_TEST_BACKEND", "sqlite")
BACKENDS = ("sqlite", "pg")
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def pytest_configure(config: pytest.Config) -> None:
    if BACKEND not in BACKENDS:
        raise pytest.UsageError(f"IPDESK_TEST_BACKEND must be one of {', '.join(BACKENDS)}")
    config.addinivalue_line(
        "markers", "own_backend: brings its own database and Redis; runs in the SQLite pass only"
    )
    config.addinivalue_line(
        "markers",
        "backend_independent: in-process logic timed in seconds (flood control) that the "
        "backend does not change; runs in the SQLite pass only",
    )
    config.addinivalue_line(
        "markers",
        "serial: disturbs a shared service (restarts PostgreSQL); `make test` runs these alone, "
        "after the parallel passes",
    )
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller compiled the catalogues before it started the workers
    # Compile the catalogues, so a bare `pytest` sees the same texts as `make test`.
    for po_path in LOCALES.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL + Redis pass runs what the switch changes: the tests that start the bot
    (everything built on `app_backend`)."""
    if BACKEND != "pg":
        return

    def switched(item: pytest.Item) -> bool:
        uses = "app_backend" in getattr(item, "fixturenames", ())
        return uses and not any(
            item.get_closest_marker(name) for name in ("own_backend", "backend_independent")
        )

    keep = [item for item in items if switched(item)]
    dropped = [item for item in items if not switched(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    if BACKEND == "pg":
        return f"ipdesk backend: PostgreSQL + Redis ({_pg_url()}, {_redis_url()})"
    return "ipdesk backend: SQLite + memory"


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


@pytest.fixture(scope="session")
def suite_database() -> Iterator[str]:
    """The PostgreSQL pass's database, migrated once, dropped at the end (one per xdist
    worker: the suite runs in parallel processes)."""
    base = _pg_url()
    if not _reachable(base):
        _unreachable(f"PostgreSQL not reachable at {base}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{make_url(base).database}_suite_{worker}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    _run(_recreate_database(base, name))
    with ThreadPoolExecutor(1) as pool:  # set up from inside a test's running loop
        pool.submit(upgrade, url).result()
    yield url
    _run(_drop_database(base, name))


@pytest.fixture
async def app_backend(
    request: pytest.FixtureRequest, sqlite_url: str
) -> AsyncIterator[tuple[str, str | None, str]]:
    """(database URL, Redis URL or None, Redis key prefix) for the bot under test."""
    if BACKEND != "pg":
        await asyncio.to_thread(upgrade, sqlite_url)
        yield sqlite_url, None, ""
        return
    url = request.getfixturevalue("suite_database")
    await _empty_tables(url)
    redis_url, prefix = _redis_url(), f"test-{uuid.uuid4().hex[:12]}:"
    if not await _redis_answers(redis_url):
        _unreachable(f"Redis not reachable at {redis_url}")
    yield url, redis_url, prefix
    await _forget_keys(redis_url, prefix)


@pytest.fixture
async def make_app(
    stand: StandIn,
    app_backend: tuple[str, str | None, str],
    faq_index: tuple[FaqBase, FaqMatcher],
) -> AsyncIterator[Callable[[], Awaitable[RunningBot]]]:
    """Start the bot as `python -m bot run` builds it, long-polling the stand-in."""
    database_url, redis_url, redis_prefix = app_backend
    running: list[tuple[RunningBot, asyncio.Task[None]]] = []

    async def start(*, complaints: bool = True, **overrides: object) -> RunningBot:
        """`complaints` gives the bot a staff forum (complaints open only with one)."""
        account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
        if complaints and "staff_chat_id" not in overrides:
            overrides["staff_chat_id"] = stand.create_supergroup("staff", forum=True).id
        overrides.setdefault("database_url", database_url)
        overrides.setdefault("redis_url", redis_url)
        settings = load_settings(
            env_file=None,
            bot_token=account.token,
            telegram_api_base=stand.base_url,
            **overrides,
        )
        resources = create_resources(settings, faq=faq_index, redis_prefix=redis_prefix)
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


@asynccontextmanager
async def fresh_pg_database(pg_url: str, *, migrated: bool = True) -> AsyncIterator[str]:
    """A PostgreSQL database of the test's own (with the schema unless `migrated` is False),
    dropped afterwards even if the test failed."""
    name = f"ipdesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        try:
            if migrated:
                await asyncio.to_thread(upgrade, url)
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database with the schema, dropped afterwards."""
    async with fresh_pg_database(pg_url) as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The machine's PostgreSQL, or a loud skip (a failure under IPDESK_REQUIRE_SERVICES=1)."""
    url = _pg_url()
    if not _reachable(url):
        _unreachable(f"PostgreSQL not reachable at {url}")
    yield url


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis, or a loud skip (a failure under IPDESK_REQUIRE_SERVICES=1)."""
    url = _redis_url()
    client = SyncRedis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except (OSError, RedisError):
        _unreachable(f"Redis not reachable at {url}")
    finally:
        client.close()
    return url


def _pg_url() -> str:
    return os.environ.get("IPDESK_TEST_PG_URL", DEFAULT_PG_URL)


def _redis_url() -> str:
    return os.environ.get("IPDESK_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def _unreachable(reason: str) -> None:
    if os.environ.get("IPDESK_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " and IPDESK_REQUIRE_SERVICES=1")
    pytest.skip(reason)


def _run(coro: Awaitable[None]) -> None:
    """Run a coroutine to completion from sync code, whatever loop is running here."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


async def _recreate_database(admin_url: str, name: str) -> None:
    await _drop_database(admin_url, name)
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def _empty_tables(url: str) -> None:
    """Every table emptied and its ids restarted: each test starts from a fresh schema."""
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


async def _redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()


async def _forget_keys(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _reachable(url: str) -> bool:
    import socket

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False


@pytest.fixture
def slow_help(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """/help waits for `release` once it has `entered` (patch first, then start the app:
    the routers hold the handler they were given)."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def show_help(message: Message) -> None:
        entered.set()
        await release.wait()
        await message.answer("finished")

    monkeypatch.setattr(handlers.private, "show_help", show_help)
    return entered, release
