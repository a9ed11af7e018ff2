"""The complaint dialog: one question at a time, each answer stored as it is given."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update
from aiogram.utils.i18n import I18n
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import Delivery
from bot.fsm import alive_key, states_may_be_lost
from bot.services.faq import FaqCatalogue
from bot.services.intake import TEXT_STEPS, AnswerError, IntakeService, Step
from bot.services.reminders import SWEEP_SECONDS, ReminderSweep
from bot.services.working_hours import is_open, now_in, utc_offset
from db.models import Draft, Ticket, User
from handlers import intake_views as views
from handlers.callbacks import ComplaintCb, MenuAction, MenuCb
from handlers.screens import refuse_stale, show

log = logging.getLogger("ipdesk.intake")

RECOVERY_SECONDS = 5.0  # how often a replica looks whether Redis lost the dialog states


class Intake(StatesGroup):
    """The FSM holds only where the person is; the answers live in the draft row."""

    kind = State()
    right = State()
    registration = State()
    location = State()
    description = State()
    company = State()
    contact = State()
    evidence = State()
    consent = State()
    summary = State()


STATES = {Step(state.state.split(":")[1]): state for state in Intake.__states__}
EVIDENCE_KINDS = F.photo | F.document | F.video
NOT_A_COMMAND = ~F.text.startswith("/")
_DIALOG_STATES = frozenset(state.state for state in Intake.__states__)


def create_router() -> Router:
    router = Router(name="intake")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(cancel, Command("cancel"))
    router.message.register(begin, Command("complaint"))
    router.callback_query.register(begin_from_menu, MenuCb.filter(F.action == MenuAction.COMPLAINT))
    # A command is never an answer: it does what it does elsewhere (/mytickets, /language,
    # /faq ...; an unknown one is said to be unknown) and the dialog waits for its answer.
    text_steps = StateFilter(*(STATES[s] for s in TEXT_STEPS))
    router.message.register(text_answer, text_steps, F.text, NOT_A_COMMAND)
    router.message.register(evidence, StateFilter(Intake.evidence), EVIDENCE_KINDS)
    router.message.register(not_text, text_steps, NOT_A_COMMAND)
    router.message.register(not_evidence, StateFilter(Intake.evidence), NOT_A_COMMAND)
    router.message.register(use_buttons, StateFilter(Intake), NOT_A_COMMAND)
    router.callback_query.register(button, ComplaintCb.filter())
    router.startup.register(start_reminders)
    router.startup.register(start_dialog_recovery)
    return router


async def start_reminders(
    delivery: Delivery,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
) -> None:
    """Runs after the dispatcher's start-up has started `delivery`."""
    render = views.reminder_renderer(i18n, settings.tz)
    sweep = ReminderSweep(sessionmaker, render, delivery.wake)
    delivery.run_every("reminders", SWEEP_SECONDS, sweep.run_once)


async def start_dialog_recovery(
    dispatcher: Dispatcher,
    bot: Bot,
    delivery: Delivery,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Dialog states are lost with memory storage at every restart, and with Redis when it
    restarts empty; the drafts keep where each dialog stands. At start-up (and, with Redis,
    whenever its marker key has vanished) each unfinished draft's state is put back, so a
    typed answer is read as an answer, not as a question for the FAQ. Until that has run
    after Redis emptied, each person's own update puts their state back (`recover_state`)."""
    storage = dispatcher.storage

    async def restore() -> int:
        async with sessionmaker() as session:
            dialogs = await IntakeService(session).open_dialogs()
        restored = 0
        for user_id, step in dialogs:
            key = StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id)
            if await storage.get_state(key) is None:
                await storage.set_state(key, STATES[step])
                restored += 1
        if restored:
            log.warning("dialog states restored from the drafts", extra={"count": restored})
        return restored

    if isinstance(storage, RedisStorage):
        marker = alive_key(storage.key_builder)

        async def check() -> None:
            try:
                if not await storage.redis.set(marker, "1", nx=True):
                    return  # the states are where they were
            except RedisError:
                log.warning("dialog recovery: Redis unavailable; looking again soon")
                return
            try:  # a new or emptied Redis
                await restore()
            except (RedisError, SQLAlchemyError, OSError):
                log.warning("dialog recovery failed; trying again soon", exc_info=True)
                with suppress(RedisError):
                    await storage.redis.delete(marker)

        delivery.run_every("dialog-recovery", RECOVERY_SECONDS, check)  # now, then every 5 s
    else:
        await restore()


async def recover_state(
    handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any, data: dict[str, Any]
) -> Any:
    """An outer middleware, after the person is loaded: Redis restarted empty and the states
    are not back yet (`start_dialog_recovery` runs every few seconds), so a person with no
    state and an unfinished draft gets its step back before the update is routed; their
    typed answer is then read as an answer. Holding the person's lock, nothing else changes
    their state meanwhile."""
    user: User | None = data.get("user")
    context: FSMContext | None = data.get("state")
    if (
        states_may_be_lost()
        and data.get("raw_state") is None
        and user is not None
        and context is not None
        and context.key.chat_id == user.id  # the dialog is in the private chat
    ):
        draft = await IntakeService(data["session"]).open_draft(user.id)
        if draft is not None:
            state = STATES[Step(draft.step)]
            await context.set_state(state)
            data["raw_state"] = state.state
            log.info("a dialog state restored from the draft", extra={"user_id": user.id})
    return await handler(event, data)


async def begin(
    message: Message, user: User, session: AsyncSession, state: FSMContext, faq: FaqCatalogue
) -> None:
    """Start a complaint, or pick up an unfinished one where it was left."""
    service = IntakeService(session)
    draft = await service.open_draft(user.id) or await service.start(user.id)
    text, markup = await screen(service, draft, faq, user.language)
    await state.set_state(STATES[Step(draft.step)])
    await message.answer(text, reply_markup=markup)


async def begin_from_menu(
    query: CallbackQuery, user: User, session: AsyncSession, state: FSMContext, faq: FaqCatalogue
) -> None:
    """From the main menu: a new complaint, or the unfinished one where it was left."""
    service = IntakeService(session)
    draft = await service.open_draft(user.id) or await service.start(user.id)
    await state.set_state(STATES[Step(draft.step)])
    text, markup = await screen(service, draft, faq, user.language)
    await show(query, text, markup)


async def ask_staff(
    query: CallbackQuery,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    faq: FaqCatalogue,
    entry_id: str | None,
) -> None:
    """ "Ask our staff" under an FAQ answer: a question to staff that remembers the entry."""
    service = IntakeService(session)
    draft = await service.ask_staff(user.id, entry_id)
    await state.set_state(STATES[Step(draft.step)])
    text, markup = await screen(service, draft, faq, user.language)
    await show(query, text, markup)


async def text_answer(
    message: Message, user: User, session: AsyncSession, state: FSMContext, faq: FaqCatalogue
) -> None:
    service = IntakeService(session)
    draft = await current(service, user, state)
    if draft is None:
        return await lost(message, state)
    try:
        step = await service.answer(draft, Step(draft.step), message.text or "")
    except AnswerError as error:
        await message.answer(views.hint(error))
        return None
    await state.set_state(STATES[step])
    text, markup = await screen(service, draft, faq, user.language)
    await message.answer(text, reply_markup=markup)
    return None


async def evidence(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    delivery: Delivery,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
) -> None:
    service = IntakeService(session)
    draft = await current(service, user, state)
    if draft is None:
        return await lost(message, state)
    kind, file_id, unique_id = _file_of(message)
    group = message.media_group_id
    try:
        count = await service.add_attachment(
            draft,
            kind=kind,
            file_id=file_id,
            file_unique_id=unique_id,
            media_group_id=group,
            source_message_id=message.message_id,
        )
    except AnswerError as error:
        if group is None:  # an album's parts are answered once, when it has gone quiet
            await message.answer(views.hint(error))
            return None
    if group is not None:
        ack = album_ack(bot, sessionmaker, i18n, message, draft.id)
        await delivery.albums.seen((message.chat.id, group), ack)
        return None
    _question, markup = views.question(Step.EVIDENCE, count)
    await message.answer(views.file_received(count), reply_markup=markup)
    return None


def album_ack(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    message: Message,
    draft_id: str,
) -> Callable[[], Awaitable[None]]:
    """What to send once an album has gone quiet: counted afresh from the database then, in
    the user's language as of this update. Runs after the update's session has closed."""
    chat_id, group, locale = message.chat.id, message.media_group_id or "", i18n.current_locale

    async def acknowledge() -> None:
        try:
            async with sessionmaker() as session:
                draft = await session.get(Draft, draft_id)
                album, total = await IntakeService(session).album_counts(draft_id, group)
            if draft is None or draft.submitted_at is not None:
                return  # cancelled or filed meanwhile
            with i18n.context(), i18n.use_locale(locale):
                text = views.album_received(album, total)
                asking = draft.step == Step.EVIDENCE
                markup = views.question(Step.EVIDENCE, total)[1] if asking else None
            await bot.send_message(chat_id, text, reply_markup=markup)
        except (TelegramAPIError, SQLAlchemyError, OSError):
            log.warning("album acknowledgement not sent", exc_info=True)

    return acknowledge


async def not_text(message: Message) -> None:
    await message.answer(views.text_please())


async def not_evidence(message: Message) -> None:
    await message.answer(views.evidence_please())


async def use_buttons(message: Message) -> None:
    await message.answer(views.use_buttons())


async def button(
    query: CallbackQuery,
    callback_data: ComplaintCb,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    delivery: Delivery,
    faq: FaqCatalogue,
) -> None:
    service = IntakeService(session)
    draft = await service.open_draft(user.id)
    action, step = callback_data.action, callback_data.step
    if draft is None:
        await state.clear()
        filed = await service.just_filed(user.id) if action == "confirm" else None
        if filed is not None:  # its receipt may never have arrived: show it again
            return await show(query, receipt(filed, settings), views.receipt_keyboard(filed))
        return await refuse_stale(query)
    try:
        if action == "cancel":
            await service.cancel(draft)
            await state.clear()
            return await show(query, views.cancelled(), None)
        if action == "edit" and draft.step == Step.SUMMARY:
            text, markup = views.edit_menu()
            return await show(query, text, markup)
        if action == "field" and draft.step == Step.SUMMARY and step in Step.__members__.values():
            await service.edit(draft, Step(step))
        elif action == "confirm" and draft.step == Step.SUMMARY:
            ticket = await service.submit(draft, user)
            await state.clear()
            await show(query, receipt(ticket, settings), views.receipt_keyboard(ticket))
            return await delivery.handoff()  # its topic now; the sweep retries on failure
        elif step != draft.step:
            return await refuse_stale(query)  # a button from an earlier question
        elif action == "choose":
            await service.choose(draft, Step(step), callback_data.value)
        elif action == "skip":
            await service.skip(draft, Step(step))
        elif action == "consent":
            await service.consent(draft)
        else:
            return await refuse_stale(query)
    except AnswerError:
        return await refuse_stale(query)
    await state.set_state(STATES[Step(draft.step)])
    text, markup = await screen(service, draft, faq, user.language)
    return await show(query, text, markup)


def in_dialog(raw_state: str | None) -> bool:
    """Whether a person's dialog state is a step of the complaint dialog."""
    return raw_state in _DIALOG_STATES


async def remind(
    message: Message, user: User, session: AsyncSession, state: FSMContext, faq: FaqCatalogue
) -> None:
    """For someone who left the dialog's screen (/start): the complaint waits for an answer,
    and their next message will be taken as it. Its current question is shown again."""
    service = IntakeService(session)
    draft = await current(service, user, state)
    if draft is None:
        await state.clear()  # filed or cancelled meanwhile: nothing waits
        return
    text, markup = await screen(service, draft, faq, user.language)
    await message.answer(f"{views.still_open(Step(draft.step))}\n\n{text}", reply_markup=markup)


async def cancel(message: Message, user: User, session: AsyncSession, state: FSMContext) -> None:
    service = IntakeService(session)
    draft = await service.open_draft(user.id)
    await state.clear()
    if draft is None:
        await message.answer(views.nothing_to_cancel())
        return
    await service.cancel(draft)
    await message.answer(views.cancelled())


async def screen(
    service: IntakeService, draft: Draft, faq: FaqCatalogue, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The draft's current question, or its summary (with its FAQ topic in `lang`)."""
    files = len(await service.attachments(draft))
    if draft.step == Step.SUMMARY:
        return views.summary(draft, files, faq.title(draft.faq_entry_id, lang))
    return views.question(Step(draft.step), files)


def receipt(ticket: Ticket, settings: Settings) -> str:
    now = now_in(settings.tz)
    hours = views.describe_hours(settings.hours, utc_offset(now))
    return views.receipt(ticket, hours, is_open(settings.hours, now))


async def reshow(update: Update, data: dict[str, Any]) -> None:
    """An update delivered again after it took effect: show where the complaint stands.

    Its first delivery committed (so it is not handled twice) but may have failed before the
    reply went out: an outage right after the commit answers 503, and the person would wait
    for a next question that never comes. So the dialog's current screen (or, after Confirm,
    the receipt) is shown again; if the first reply did arrive, this is one repeated screen,
    the duplicate an after-effect fault is allowed (conventions).
    """
    user: User | None = data.get("user")
    query, message = update.callback_query, update.message
    if user is None:
        return
    if query is not None:
        if not isinstance(query.message, Message) or not (query.data or "").startswith("c:"):
            return
        chat = query.message.chat
    elif message is not None and not (message.text or "").startswith("/"):
        chat = message.chat
    else:
        return
    if chat.type != ChatType.PRIVATE:
        return
    service = IntakeService(data["session"])
    markup: InlineKeyboardMarkup | None
    draft = await service.open_draft(user.id)
    if draft is not None:
        await data["state"].set_state(STATES[Step(draft.step)])
        text, markup = await screen(service, draft, data["faq"], user.language)
    elif query is not None and ComplaintCb.unpack(query.data or "").action == "confirm":
        ticket = await service.just_filed(user.id)
        if ticket is None:
            return
        text, markup = receipt(ticket, data["settings"]), views.receipt_keyboard(ticket)
    else:
        return
    if query is not None:
        await show(query, text, markup)
    else:
        await data["bot"].send_message(chat.id, text, reply_markup=markup)


async def current(service: IntakeService, user: User, state: FSMContext) -> Draft | None:
    draft = await service.open_draft(user.id)
    if draft is not None and await state.get_state() != STATES[Step(draft.step)].state:
        await state.set_state(STATES[Step(draft.step)])  # the draft is the truth
    return draft


async def lost(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(views.nothing_to_cancel())


def _file_of(message: Message) -> tuple[str, str, str]:
    if message.photo:
        biggest = message.photo[-1]
        return "photo", biggest.file_id, biggest.file_unique_id
    if message.video:
        return "video", message.video.file_id, message.video.file_unique_id
    assert message.document is not None
    return "document", message.document.file_id, message.document.file_unique_id
