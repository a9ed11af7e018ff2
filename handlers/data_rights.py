"""A person's own data: /mydata sends it, /deleteme removes it (the cases stay, anonymised)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import Delivery
from bot.services.privacy import RETENTION_SWEEP_SECONDS, DataRights, RetentionSweep
from db.models import Ticket, User
from handlers import reports_views as views
from handlers.callbacks import DeleteMeCb
from handlers.filters import CommandsOnly
from handlers.screens import show


def create_router() -> Router:
    router = Router(name="data_rights")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(my_data, Command("mydata"))
    router.message.register(ask_delete, Command("deleteme"))
    router.callback_query.register(delete_me, DeleteMeCb.filter())
    router.startup.register(start_retention)
    return router


async def start_retention(
    delivery: Delivery, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Runs after the dispatcher's start-up has started `delivery`."""
    sweep = RetentionSweep(
        sessionmaker,
        ticket_days=settings.retention_days,
        draft_days=settings.draft_retention_days,
    )
    delivery.run_every("retention", RETENTION_SWEEP_SECONDS, sweep.run_once)


async def my_data(message: Message, user: User, session: AsyncSession) -> None:
    data = await DataRights(session).export_json(user.id)
    await session.close()  # release the connection before the upload
    await message.answer_document(
        BufferedInputFile(data, filename=f"ipdesk-mydata-{user.id}.json"),
        caption=views.mydata_caption(),
    )


async def ask_delete(message: Message) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete my data"), callback_data=DeleteMeCb(confirm=True))
    kb.button(text=_("Cancel"), callback_data=DeleteMeCb(confirm=False))
    await message.answer(
        _(
            "Delete your personal data? I will remove your name, language, settings, the "
            "questions you typed and any unfinished complaint. Complaints you filed stay with "
            "our staff as cases, without your name or contact details, and replies will no "
            "longer reach you. This cannot be undone."
        ),
        reply_markup=kb.as_markup(),
    )


async def delete_me(
    query: CallbackQuery,
    callback_data: DeleteMeCb,
    user: User,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    delivery: Delivery,
) -> None:
    if not callback_data.confirm:
        await show(query, _("Nothing was deleted."), None)
        return

    def staff_notice(ticket: Ticket) -> str:
        with i18n.use_locale(settings.staff_language):
            return views.staff_user_forgotten(ticket.number)

    tickets = await DataRights(session).forget(user, staff_notice)
    if tickets:
        delivery.wake()
    await show(
        query,
        _("Done: your data has been deleted. If you write again, I will start afresh."),
        None,
    )
