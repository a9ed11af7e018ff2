"""/broadcast: compose (one message, or one per language), choose the audience, preview exactly
as recipients will see it, confirm; then Pause, Resume and Cancel on the live progress message.

The draft is stored as it is built (the FSM keeps only "waiting for the message"); nested in
the admin router, which carries the admin filter.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast_delivery import BroadcastRunner, TelegramAnnouncer
from bot.languages import LANGUAGES
from bot.services.broadcast import (
    ALL_LANGUAGES,
    Audience,
    Broadcasts,
    Content,
    audience_of,
    contents_of,
)
from bot.services.intake import Kind
from db.models import Broadcast, User, utcnow
from handlers import admin_views as views
from handlers.admin_views import BroadcastCb
from handlers.news import unsubscribe_keyboard
from handlers.screens import refuse_stale, show

CONTROLS = ("pause", "resume", "stop")


class Compose(StatesGroup):
    content = State()  # waiting for the announcement (or its next language)


def create_router() -> Router:
    router = Router(name="admin_broadcast")
    router.message.register(begin, Command("broadcast"))
    is_content = (F.text & ~F.text.startswith("/")) | F.photo | F.document
    router.message.register(content, StateFilter(Compose.content), is_content)
    router.message.register(not_content, StateFilter(Compose.content), ~F.text.startswith("/"))
    on = BroadcastCb.filter
    router.callback_query.register(mode, on(F.action == "mode"))
    router.callback_query.register(audience, on(F.action.in_({"audience", "audience_edit"})))
    router.callback_query.register(language, on(F.action == "lang"))
    router.callback_query.register(ticket_kind, on(F.action == "kind"))
    router.callback_query.register(send, on(F.action == "send"))
    router.callback_query.register(drop, on(F.action == "drop"))
    router.callback_query.register(control, on(F.action.in_(set(CONTROLS))))
    return router


# -- composing ------------------------------------------------------------------------------------


async def begin(message: Message, state: FSMContext) -> None:
    await state.clear()
    text, markup = views.choose_mode()
    await message.answer(text, reply_markup=markup)


async def mode(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    user: User,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    draft = await Broadcasts(session).start(
        user.id, per_language=callback_data.value == "per", admin_language=user.language
    )
    await state.set_state(Compose.content)
    await show(query, views.ask_content(Broadcasts.missing_language(draft) or ALL_LANGUAGES), None)


async def content(message: Message, user: User, session: AsyncSession, state: FSMContext) -> None:
    composer = Broadcasts(session)
    draft = await composer.draft(user.id)
    if draft is None or composer.missing_language(draft) is None:
        await state.clear()
        await message.answer(views.no_draft())
        return
    following = await composer.add_content(draft, _content_of(message))
    if following is not None:
        await message.answer(views.ask_content(following))
        return
    await state.clear()
    everyone = await composer.audience_size(Audience.everyone())
    text, markup = views.audience_menu(sum(everyone.values()))
    await message.answer(text, reply_markup=markup)


def _content_of(message: Message) -> Content:
    if message.photo:
        return Content("photo", message.html_text, message.photo[-1].file_id)
    if message.document:
        return Content("document", message.html_text, message.document.file_id)
    return Content("text", message.html_text)


async def not_content(message: Message) -> None:
    await message.answer(views.content_please())


# -- the audience ---------------------------------------------------------------------------------


async def _draft(query: CallbackQuery, user: User, session: AsyncSession) -> Broadcast | None:
    """The admin's complete draft; a stale button is refused."""
    draft = await Broadcasts(session).draft(user.id)
    if draft is None or Broadcasts.missing_language(draft) is not None:
        await refuse_stale(query)
        return None
    return draft


async def audience(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    user: User,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if (draft := await _draft(query, user, session)) is None:
        return
    composer = Broadcasts(session)
    everyone = await composer.audience_size(Audience.everyone())
    if callback_data.action == "audience_edit":
        text, markup = views.audience_menu(sum(everyone.values()))
    elif callback_data.value == "all":
        await composer.set_audience(draft, Audience.everyone())
        return await preview(query, draft, user, session, bot, i18n)
    elif callback_data.value == "langs":
        await composer.set_audience(draft, Audience.speaking(()))
        text, markup = views.language_menu((), everyone)
    else:
        text, markup = views.kind_menu()
    return await show(query, text, markup)


async def language(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    user: User,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if (draft := await _draft(query, user, session)) is None:
        return None
    chosen = audience_of(draft) or Audience.speaking(())
    if callback_data.value == "done":
        if chosen.kind != "languages" or not chosen.languages:
            return await query.answer(views.choose_a_language(), show_alert=True)
        return await preview(query, draft, user, session, bot, i18n)
    if callback_data.value not in LANGUAGES:
        return await refuse_stale(query)
    toggled = set(chosen.languages) ^ {callback_data.value}
    composer = Broadcasts(session)
    await composer.set_audience(draft, Audience.speaking(tuple(toggled)))
    everyone = await composer.audience_size(Audience.everyone())
    text, markup = views.language_menu(tuple(toggled), everyone)
    return await show(query, text, markup)


async def ticket_kind(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    user: User,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if (draft := await _draft(query, user, session)) is None:
        return None
    if callback_data.value not in set(Kind):
        return await refuse_stale(query)
    await Broadcasts(session).set_audience(draft, Audience.with_tickets(callback_data.value))
    return await preview(query, draft, user, session, bot, i18n)


async def preview(
    query: CallbackQuery,
    draft: Broadcast,
    user: User,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Each message as its recipients will get it (their language's button), then the count."""
    await query.answer()
    chosen = audience_of(draft) or Audience.everyone()
    announcer = TelegramAnnouncer(bot)
    for key, message in contents_of(draft).items():
        if chosen.kind == "languages" and key != ALL_LANGUAGES and key not in chosen.languages:
            continue
        if key != ALL_LANGUAGES:
            await bot.send_message(user.id, views.preview_header(key))
        with i18n.use_locale(user.language if key == ALL_LANGUAGES else key):
            markup = views.as_json(unsubscribe_keyboard())
        await announcer.announce(user.id, message, markup)
    sizes = await Broadcasts(session).audience_size(chosen)
    text, markup = views.confirm(sizes)
    await bot.send_message(user.id, text, reply_markup=markup)


# -- sending and controlling ----------------------------------------------------------------------


async def send(
    query: CallbackQuery, user: User, session: AsyncSession, broadcasts: BroadcastRunner
) -> None:
    if (draft := await _draft(query, user, session)) is None or query.message is None:
        return None
    composer = Broadcasts(session)
    if not await composer.confirm(draft, user.id, user.id, query.message.message_id):
        return await query.answer(views.nobody(), show_alert=True)
    broadcasts.wake()
    stats = await composer.stats(draft, rate_limit=broadcasts.rate, now=utcnow())
    text, markup = views.progress(draft, stats)
    return await show(query, text, markup)


async def drop(query: CallbackQuery, user: User, session: AsyncSession, state: FSMContext) -> None:
    await Broadcasts(session).discard(user.id)
    await state.clear()
    await show(query, views.dropped(), None)


async def control(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    user: User,
    session: AsyncSession,
    broadcasts: BroadcastRunner,
) -> None:
    composer = Broadcasts(session)
    act = {"pause": composer.pause, "resume": composer.resume, "stop": composer.cancel}
    if not await act[callback_data.action](callback_data.id, user.id):
        return await refuse_stale(query)
    broadcasts.wake()
    job = await composer.get(callback_data.id)
    if job is None:
        return await refuse_stale(query)
    await query.answer(views.controlled(callback_data.action))
    stats = await composer.stats(job, rate_limit=broadcasts.rate, now=utcnow())
    text, markup = views.progress(job, stats)
    return await show(query, text, markup, answered=True)
