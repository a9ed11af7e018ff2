"""FAQ browsing: topics → questions → answer, votes, related entries, and the way to staff."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Features
from bot.services.faq import CONTACTS_ENTRY, FaqCatalogue, FaqFeedbackService
from db.models import User
from handlers import faq_views as views
from handlers import intake, news
from handlers.callbacks import FaqEntryCb, FaqNavCb, FaqStaffCb, FaqVoteCb, MenuAction, MenuCb
from handlers.filters import CommandsOnly
from handlers.screens import refuse_stale, show


def create_router() -> Router:
    router = Router(name="faq")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(faq_command, Command("faq"))
    router.callback_query.register(open_categories, MenuCb.filter(F.action == MenuAction.FAQ))
    router.callback_query.register(navigate, FaqNavCb.filter())
    router.callback_query.register(open_entry, FaqEntryCb.filter())
    router.callback_query.register(vote, FaqVoteCb.filter())
    router.callback_query.register(ask_staff, FaqStaffCb.filter())
    return router


async def faq_command(message: Message, user: User, faq: FaqCatalogue) -> None:
    await message.answer(
        views.categories_text(), reply_markup=views.categories_keyboard(faq.base, user.language)
    )


async def open_categories(query: CallbackQuery, user: User, faq: FaqCatalogue) -> None:
    await show(query, views.categories_text(), views.categories_keyboard(faq.base, user.language))


async def navigate(
    query: CallbackQuery, callback_data: FaqNavCb, user: User, faq: FaqCatalogue
) -> None:
    if not callback_data.category:
        await open_categories(query, user, faq)
        return
    category = faq.find_category(callback_data.category)
    if category is None:
        await refuse_stale(query)
        return
    page = faq.page(category, callback_data.page)
    await show(
        query, views.page_text(page, user.language), views.page_keyboard(page, user.language)
    )


async def open_entry(
    query: CallbackQuery, callback_data: FaqEntryCb, user: User, faq: FaqCatalogue
) -> None:
    entry = faq.find(callback_data.id)
    if entry is None:
        await refuse_stale(query)
        return
    await show(
        query,
        views.entry_text(entry, user.language),
        views.entry_keyboard(entry, faq.related(entry), faq.page_of(entry), user.language),
    )


async def vote(
    query: CallbackQuery,
    callback_data: FaqVoteCb,
    user: User,
    faq: FaqCatalogue,
    session: AsyncSession,
) -> None:
    if faq.find(callback_data.id) is None:
        await refuse_stale(query)
        return
    await FaqFeedbackService(session).vote(user.id, callback_data.id, callback_data.helpful)
    if callback_data.helpful:
        await query.answer(_("Thank you! Glad it helped."))
        if query.message is not None:  # a first useful answer: the moment to ask about news
            await news.offer(query.bot, query.message.chat.id, user, session)  # type: ignore[arg-type]
    else:
        await query.answer(
            _("Thank you. We will use your feedback to improve this answer."),
            show_alert=True,
        )


async def ask_staff(
    query: CallbackQuery,
    callback_data: FaqStaffCb,
    user: User,
    faq: FaqCatalogue,
    features: Features,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    contacts = faq.find(CONTACTS_ENTRY)
    entry = faq.find(callback_data.id) if callback_data.id else None
    if (callback_data.id and entry is None) or contacts is None:
        await refuse_stale(query)
        return
    if features.complaints:  # a question to staff about this entry (none: from "not sure")
        await intake.ask_staff(query, user, session, state, faq, callback_data.id or None)
        return
    # Where no staff chat reads tickets, point to the official contacts.
    await query.answer()
    if query.message is not None:
        text = _(
            "Questions to our staff through this bot are not open yet. Until then, "
            "here is how to reach the Committee and the patent office:"
        )
        await query.bot.send_message(  # type: ignore[union-attr]
            query.message.chat.id,
            f"{text}\n\n{views.entry_text(contacts, user.language)}",
            reply_markup=views.entry_keyboard(
                contacts, (), faq.page_of(contacts), user.language, ask_staff=False
            ),
        )
