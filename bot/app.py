"""Factories: the one place where the bot, the dispatcher and their resources are put together.

`python -m bot run` and the tests build the application the same way; nothing here runs at import.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import Filter
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
)
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.methods.base import Response
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.api_session import JsonBodySession
from bot.broadcast_delivery import BroadcastRunner
from bot.config import Mode, Settings
from bot.delivery import Delivery
from bot.faq.content import FaqBase, load_faq
from bot.faq.match import FaqMatcher
from bot.features import Features
from bot.fsm import ISOLATION_LOCK, OrderedRedisEventIsolation, SharedRedisStorage
from bot.languages import DEFAULT_LANGUAGE
from bot.locks import LocalLocks, Locks, RedisLocks
from bot.metrics import Metrics
from bot.middlewares import (
    DbSessionMiddleware,
    InFlightTracker,
    UserI18nMiddleware,
    UserMiddleware,
    once,
)
from bot.middlewares.db import ShortTransactions
from bot.middlewares.retry import RetryOnOutage
from bot.middlewares.throttle import ThrottleMiddleware
from bot.polling import ConfirmingDispatcher
from bot.profile import publish_profile, publish_staff_commands
from bot.services.dead_letters import DeadLetterService
from bot.services.faq import FaqCatalogue, FaqQueryLog
from bot.services.lifecycle import Lifecycle
from bot.services.staff_directory import StaffDirectory
from bot.staff_chat import check_staff_chat, follow_staff_chat
from db.engine import create_engine, create_sessionmaker
from handlers import (
    admin,
    admin_views,
    data_rights,
    errors,
    fallback,
    faq,
    intake,
    language,
    membership,
    news,
    private,
    questions,
    rating,
    relay,
    reports,
    staff,
    staff_views,
    ticket_views,
    tickets,
)
from handlers.filters import CommandsOnly, IsAdmin

log = logging.getLogger("ipdesk")

SHUTDOWN_GRACE_SECONDS = 20.0
I18N_DOMAIN = "messages"
FSM_TTL_SECONDS = 30 * 24 * 3600  # a dialog's step outlives any reminder; the answers are in SQL
REDIS_TIMEOUT_SECONDS = 5.0
PRUNE_UPDATES_SECONDS = 3600.0


@dataclass
class Resources:
    """What lives for the whole process and is shared by every update."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    faq: FaqCatalogue = field(repr=False)
    faq_matcher: FaqMatcher = field(repr=False)
    tracker: InFlightTracker = field(default_factory=InFlightTracker)
    # aiogram's Response[T] classes, held for the life of the process (see pin_api_types).
    api_types: tuple[type, ...] = field(default=(), repr=False)
    redis: Redis | None = None  # set with REDIS_URL: FSM, per-user isolation and locks
    redis_prefix: str = ""  # before every key (tests give each bot its own)
    locks: Locks = field(default_factory=LocalLocks)
    metrics: Metrics = field(default_factory=Metrics)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def create_resources(
    settings: Settings,
    *,
    faq: tuple[FaqBase, FaqMatcher] | None = None,
    redis_prefix: str = "",
) -> Resources:
    """Everything a process shares; invalid FAQ content stops it here (FaqContentError).

    `faq` passes content already loaded and indexed (it is immutable; tests share one);
    `redis_prefix` goes before every Redis key (tests sharing one Redis keep apart by it).
    """
    base, matcher = faq or load_faq_index(settings)
    engine = create_engine(settings.database_url.get_secret_value())
    redis = create_redis(settings.redis_url.get_secret_value()) if settings.redis_url else None
    return Resources(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        i18n=create_i18n(settings),
        faq=FaqCatalogue(base),
        faq_matcher=matcher,
        api_types=pin_api_types(),
        redis=redis,
        redis_prefix=redis_prefix,
        locks=RedisLocks(redis, prefix=f"{redis_prefix}ipdesk:") if redis else LocalLocks(),
    )


def pin_api_types() -> tuple[type, ...]:
    """aiogram parses every API answer with pydantic's `Response[T]`; pydantic caches those
    classes only weakly, so a garbage collection can drop them and the next call rebuilds the
    schema (milliseconds, on the update that pays it). Built once here and kept (~40 ms)."""
    from aiogram import methods

    returning = {
        cls.__returning__
        for cls in vars(methods).values()
        if isinstance(cls, type)
        and issubclass(cls, methods.TelegramMethod)
        and cls is not methods.TelegramMethod
    }
    return tuple(Response[result] for result in returning)


def create_redis(url: str) -> Redis:
    """A client that fails fast when Redis is away (the webhook then answers 5xx)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def create_fsm(resources: Resources) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis when configured (every replica sees one dialog state and one lock per person),
    else memory. Keys carry the destiny, so scenes and other state machines cannot collide."""
    if resources.redis is None:
        return MemoryStorage(), SimpleEventIsolation()
    keys = DefaultKeyBuilder(prefix=f"{resources.redis_prefix}fsm", with_destiny=True)
    storage = SharedRedisStorage(
        resources.redis, key_builder=keys, state_ttl=FSM_TTL_SECONDS, data_ttl=FSM_TTL_SECONDS
    )
    return storage, OrderedRedisEventIsolation(resources.redis, keys, lock_kwargs=ISOLATION_LOCK)


def load_faq_index(settings: Settings) -> tuple[FaqBase, FaqMatcher]:
    base = load_faq(settings.locales_dir / "faq")
    return base, FaqMatcher.build(base)


def create_i18n(settings: Settings) -> I18n:
    return I18n(path=settings.locales_dir, default_locale=DEFAULT_LANGUAGE, domain=I18N_DOMAIN)


def create_bot(settings: Settings) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = (
        JsonBodySession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else JsonBodySession()
    )
    # An update's read-only transaction ends before each Bot API call (db/engine.py says why).
    session.middleware(ShortTransactions())
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_dispatcher(
    settings: Settings,
    resources: Resources,
    *,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    delivery = Delivery(
        resources.sessionmaker,
        staff_chat_id=settings.staff_chat_id,
        render=staff_views.renderers(
            resources.i18n, settings.staff_language, resources.faq, settings.tz
        ),
        locks=resources.locks,
    )
    lifecycle = Lifecycle(
        resources.sessionmaker,
        user_texts=ticket_views.user_texts(resources.i18n, settings.tz),
        staff_texts=staff_views.lifecycle_texts(resources.i18n, settings.staff_language),
        staff_chat_id=settings.staff_chat_id,
        hours=settings.hours,
        tz=settings.tz,
        wake_outbox=delivery.wake,
        alert_after=timedelta(hours=settings.waiting_alert_hours),
    )
    # Complaints open only where a staff chat will read them.
    features = Features(complaints=settings.staff_chat_id is not None)
    default_storage, isolation = create_fsm(resources)
    dp = ConfirmingDispatcher(
        stop_grace=SHUTDOWN_GRACE_SECONDS,  # polling: updates in flight end before it stops
        storage=storage or default_storage,
        # One person's updates in one chat are handled one at a time, in order (a relayed
        # conversation keeps its order; an album cannot race itself), across replicas too.
        events_isolation=isolation,
        delivery=delivery,
        lifecycle=lifecycle,
        staff_directory=StaffDirectory(),
        features=features,
        settings=settings,
        i18n=resources.i18n,
        sessionmaker=resources.sessionmaker,
        dead_letters=DeadLetterService(resources.sessionmaker),
        faq=resources.faq,
        faq_matcher=resources.faq_matcher,
        redelivered=intake.reshow,  # a skipped redelivery shows the dialog where it stands
        faq_log=FaqQueryLog(resources.sessionmaker),
        broadcasts=BroadcastRunner(
            resources.sessionmaker,
            admin_views.renderers(resources.i18n),
            rate=settings.broadcast_rate,
        ),
    )
    # Outer middlewares run in registration order, for every update.
    polling = settings.mode is Mode.POLLING  # webhook mode answers 503: Telegram redelivers
    if polling:  # Redis away at the person's lock (bot.middlewares.retry)
        register_outermost(dp, RetryOnOutage(on_retry=resources.metrics.count_outage_retry))
    register_outermost(dp, resources.metrics.outer)
    dp.update.outer_middleware(resources.metrics.inner)
    dp.update.outer_middleware(resources.tracker)
    if polling:
        dp.update.outer_middleware(RetryOnOutage(on_retry=resources.metrics.count_outage_retry))
    dp.update.outer_middleware(DbSessionMiddleware(resources.sessionmaker))
    dp.update.outer_middleware(once.check)  # a redelivered update already committed: skip
    dp.update.outer_middleware(UserMiddleware())
    if features.complaints and resources.redis is not None:
        dp.update.outer_middleware(intake.recover_state)  # Redis emptied: states from drafts
    dp.update.outer_middleware(
        UserI18nMiddleware(
            resources.i18n,
            staff_chat_id=settings.staff_chat_id,
            staff_language=settings.staff_language,
        )
    )
    dp.update.outer_middleware(once.reshow)  # ...unless its reply may have been lost
    dp.update.outer_middleware(ThrottleMiddleware())  # reads the user and speaks their language
    dp.update.middleware(once.mark)  # the handler's first commit records the update

    # A message walks the routers in order until one takes it, and each router it passes
    # costs CPU. The commonest message, a question typed outside any dialog, is taken second:
    # the routers after it take only commands, dialog answers (states) and the messages of
    # people with an open ticket, which its router's filter lets pass. Routers that take only
    # commands (or only admins) wait behind one check.
    dp.include_routers(
        staff.create_router(settings),
        questions.create_router(),
        grouped("commands", CommandsOnly(), private.create_router(), data_rights.create_router()),
        # admins only: for anyone else their commands are unknown
        grouped("admins", IsAdmin(), reports.create_router(), admin.create_router()),
    )
    if features.complaints:
        dp.include_router(intake.create_router())
    dp.include_routers(
        tickets.create_router(),
        rating.create_router(),  # before relay: a comment on a rating is not relayed
        relay.create_router(),
        grouped(
            "more commands",
            CommandsOnly(),
            language.create_router(),
            news.create_router(),
            faq.create_router(),
        ),
        fallback.create_router(),  # last of the messages: whatever nobody else took
        # These take no messages; a message walks the routers in order until one takes it
        # (each passed router costs CPU), so they come last.
        membership.create_router(),  # a stranger's group: leave it
        errors.create_router(),
    )

    run_sync_filters_inline(dp)

    async def on_startup(bot: Bot) -> None:
        await publish_profile(bot, resources.i18n, features)
        await publish_staff_commands(bot, resources.i18n, settings)
        configured = settings.staff_chat_id
        staff_chat_id = await follow_staff_chat(bot, configured) if configured else None
        await check_staff_chat(bot, staff_chat_id)
        await delivery.start(bot)
        if configured and staff_chat_id != configured and delivery.desk is not None:
            # A restart after the group's upgrade: staff write from the new id at once.
            await delivery.desk.on_chat_migrated(configured, staff_chat_id)
        delivery.run_every(
            "processed-updates", PRUNE_UPDATES_SECONDS, lambda: once.prune(resources.sessionmaker)
        )

    async def on_shutdown() -> None:
        if not await resources.tracker.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning(
                "shutdown: updates still in flight after the grace period",
                extra={"in_flight": resources.tracker.in_flight},
            )
        await delivery.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return dp


def grouped(name: str, messages: Filter, *routers: Router) -> Router:
    """The routers under one whose message filter they all apply themselves: any other
    message passes them with that one check."""
    group = Router(name=name)
    group.message.filter(messages)
    group.include_routers(*routers)
    return group


def register_outermost(dp: Dispatcher, middleware: Any) -> None:
    """Put a middleware before aiogram's own (error handling, FSM and its per-user lock)."""
    builtin = list(dp.update.outer_middleware)
    for item in builtin:
        dp.update.outer_middleware.unregister(item)
    dp.update.outer_middleware(middleware)
    for item in builtin:
        dp.update.outer_middleware(item)


def run_sync_filters_inline(dp: Dispatcher) -> None:
    """aiogram 3.31 runs every filter that is a plain function, magic filters (`F.text`)
    included, in a worker thread (`asyncio.to_thread`): a thread hop for each filter of each
    router an update passes (about 1.7 ms of CPU per FAQ question, measured). Ours are pure
    and take microseconds, so they run in the event loop instead."""
    for router in dp.chain_tail:
        for observer in router.observers.values():
            handlers = [observer._handler, *observer.handlers]  # the router's own filters first
            for handler in handlers:
                for item in handler.filters or ():
                    if not item.awaitable:
                        item.callback = _inline(item.callback)
                        item.awaitable = True


def _inline(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return call
