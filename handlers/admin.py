"""Admin commands in a private chat: /grant, /revoke, /staff, /audit (and /broadcast, nested).

The router carries the admin filter: for anyone else these commands fall through to the
unknown-command answer, so the refusal reveals nothing.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.broadcast_delivery import BroadcastRunner
from bot.config import Settings
from bot.features import Features
from bot.profile import hide_admin_commands, show_admin_commands
from bot.services.audit import PAGE_SIZE, AuditLog
from bot.services.roles import ADMIN, ROLES, Change, Outcome, RoleService
from handlers import admin_broadcast
from handlers import admin_views as views
from handlers.filters import IsAdmin, configured


def create_router() -> Router:
    router = Router(name="admin")
    router.message.filter(F.chat.type == ChatType.PRIVATE, IsAdmin())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE, IsAdmin())
    router.message.register(grant, Command("grant"))
    router.message.register(revoke, Command("revoke"))
    router.message.register(staff, Command("staff"))
    router.message.register(audit, Command("audit"))
    router.include_router(admin_broadcast.create_router())
    router.startup.register(on_startup)
    router.shutdown.register(on_shutdown)
    return router


async def on_startup(
    bot: Bot,
    broadcasts: BroadcastRunner,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    i18n: I18n,
    features: Features,
) -> None:
    """Admins get their menu; broadcasts left running by a previous process resume."""
    async with sessionmaker() as session:
        admins = await RoleService(session, configured(settings)).admin_ids()
    for admin_id in sorted(admins):
        await show_admin_commands(bot, i18n, features, admin_id)
    broadcasts.start(bot)


async def on_shutdown(broadcasts: BroadcastRunner) -> None:
    await broadcasts.stop()


async def grant(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    features: Features,
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or args[1].lower() not in ROLES or message.from_user is None:
        await message.answer(views.grant_usage())
        return
    service = RoleService(session, configured(settings))
    change = await service.grant(message.from_user.id, args[0], args[1].lower())
    if change.outcome is Outcome.DONE and change.user is not None:
        if change.role == ADMIN:
            await show_admin_commands(bot, i18n, features, change.user.id)
        else:
            await hide_admin_commands(bot, change.user.id)
    await message.answer(_role_answer(change, granting=True))


async def revoke(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> None:
    args = (command.args or "").split()
    if len(args) != 1 or message.from_user is None:
        await message.answer(views.revoke_usage())
        return
    change = await RoleService(session, configured(settings)).revoke(message.from_user.id, args[0])
    if change.outcome is Outcome.DONE and change.user is not None and change.role == ADMIN:
        await hide_admin_commands(bot, change.user.id)
    await message.answer(_role_answer(change, granting=False))


def _role_answer(change: Change, *, granting: bool) -> str:
    if change.outcome is Outcome.UNKNOWN:
        return views.unknown_person()
    if change.outcome is Outcome.CONFIGURED:
        return views.configured(change)
    if change.outcome is Outcome.UNCHANGED:
        return views.already(change) if granting else views.nothing_to_revoke(change)
    return views.granted(change) if granting else views.revoked(change)


async def staff(message: Message, session: AsyncSession, settings: Settings) -> None:
    people = await RoleService(session, configured(settings)).holders()
    await message.answer(views.holders(people))


async def audit(message: Message, command: CommandObject, session: AsyncSession) -> None:
    arg = (command.args or "").strip()
    page = int(arg) if arg.isdigit() and int(arg) > 0 else 1
    entries = await AuditLog(session).entries(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    await message.answer(views.audit_page(entries[:PAGE_SIZE], page, more))
