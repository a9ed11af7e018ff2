"""Factories: the one place where the bot, the dispatcher and their resources are put together.

`python -m bot run` and the tests build the application the same way; nothing here runs at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import Delivery
from bot.faq.content import FaqBase, load_faq
from bot.faq.match import FaqMatcher
from bot.features import Features
from bot.languages import DEFAULT_LANGUAGE
from bot.middlewares import DbSessionMiddleware, InFlightTracker, UserI18nMiddleware, UserMiddleware
from bot.middlewares.throttle import ThrottleMiddleware
from bot.profile import publish_profile
from bot.services.dead_letters import DeadLetterService
from bot.services.faq import FaqCatalogue
from bot.staff_chat import check_staff_chat
from db.engine import create_engine, create_sessionmaker
from handlers import (
    errors,
    fallback,
    faq,
    intake,
    language,
    membership,
    private,
    questions,
    relay,
    staff,
    staff_views,
    tickets,
)

log = logging.getLogger("ipdesk")

SHUTDOWN_GRACE_SECONDS = 20.0
I18N_DOMAIN = "messages"


@dataclass
class Resources:
    """What lives for the whole process and is shared by every update."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    faq: FaqCatalogue = field(repr=False)
    faq_matcher: FaqMatcher = field(repr=False)
    tracker: InFlightTracker = field(default_factory=InFlightTracker)

    async def close(self) -> None:
        await self.engine.dispose()


def create_resources(
    settings: Settings, *, faq: tuple[FaqBase, FaqMatcher] | None = None
) -> Resources:
    """Everything a process shares; invalid FAQ content stops it here (FaqContentError).

    `faq` passes content already loaded and indexed (it is immutable; tests share one).
    """
    base, matcher = faq or load_faq_index(settings)
    engine = create_engine(settings.database_url.get_secret_value())
    return Resources(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        i18n=create_i18n(settings),
        faq=FaqCatalogue(base),
        faq_matcher=matcher,
    )


def load_faq_index(settings: Settings) -> tuple[FaqBase, FaqMatcher]:
    base = load_faq(settings.locales_dir / "faq")
    return base, FaqMatcher.build(base)


def create_i18n(settings: Settings) -> I18n:
    return I18n(path=settings.locales_dir, default_locale=DEFAULT_LANGUAGE, domain=I18N_DOMAIN)


def create_bot(settings: Settings) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else AiohttpSession()
    )
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
        render=staff_views.renderers(resources.i18n, settings.staff_language),
    )
    # Complaints open only where a staff chat will read them.
    features = Features(complaints=settings.staff_chat_id is not None)
    dp = Dispatcher(
        storage=storage or MemoryStorage(),
        # One person's updates in one chat are handled one at a time, in order (a relayed
        # conversation keeps its order; an album cannot race itself).
        events_isolation=SimpleEventIsolation(),
        delivery=delivery,
        features=features,
        settings=settings,
        i18n=resources.i18n,
        sessionmaker=resources.sessionmaker,
        dead_letters=DeadLetterService(resources.sessionmaker),
        faq=resources.faq,
        faq_matcher=resources.faq_matcher,
    )
    # Outer middlewares run in registration order, for every update.
    dp.update.outer_middleware(resources.tracker)
    dp.update.outer_middleware(DbSessionMiddleware(resources.sessionmaker))
    dp.update.outer_middleware(UserMiddleware())
    dp.update.outer_middleware(
        UserI18nMiddleware(
            resources.i18n,
            staff_chat_id=settings.staff_chat_id,
            staff_language=settings.staff_language,
        )
    )
    dp.update.outer_middleware(ThrottleMiddleware())  # reads the user and speaks their language

    dp.include_routers(
        errors.create_router(), staff.create_router(settings), private.create_router()
    )
    dp.include_router(membership.create_router())  # a stranger's group: leave it
    if features.complaints:
        dp.include_router(intake.create_router())
    dp.include_routers(
        tickets.create_router(),
        relay.create_router(),
        language.create_router(),
        faq.create_router(),
        questions.create_router(),
        fallback.create_router(),  # last: whatever nobody else took
    )

    async def on_startup(bot: Bot) -> None:
        await publish_profile(bot, resources.i18n, features)
        await check_staff_chat(bot, settings.staff_chat_id)
        await delivery.start(bot)

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
