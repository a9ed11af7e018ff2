"""What Telegram shows about the bot: commands, description and short description per language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatMember,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.features import Features
from bot.languages import DEFAULT_LANGUAGE, LANGUAGES

log = logging.getLogger("ipdesk.profile")


def user_commands(features: Features) -> list[BotCommand]:
    complaint = [
        BotCommand(command="complaint", description=_("File a complaint")),
        BotCommand(command="mytickets", description=_("Your tickets")),
    ]
    return [
        BotCommand(command="start", description=_("Main menu")),
        *(complaint if features.complaints else []),
        BotCommand(command="language", description=_("Change the language")),
        BotCommand(command="settings", description=_("Settings: language and news")),
        BotCommand(command="privacy", description=_("Your data and privacy")),
        BotCommand(command="mydata", description=_("Download your data")),
        BotCommand(command="help", description=_("What this bot can do")),
    ]


def staff_commands() -> list[BotCommand]:
    return [
        BotCommand(command="take", description=_("Take the ticket of this topic")),
        BotCommand(command="assign", description=_("Give this ticket to @name")),
        BotCommand(command="resolve", description=_("Mark it resolved and ask for a rating")),
        BotCommand(command="close", description=_("Close the ticket")),
        BotCommand(command="reopen", description=_("Reopen the ticket")),
        BotCommand(command="note", description=_("An internal note, never sent")),
        BotCommand(command="canned", description=_("Saved replies")),
        BotCommand(command="tickets", description=_("Open tickets: new, mine, waiting")),
        BotCommand(command="find", description=_("Find a ticket by number or text")),
    ]


def staff_admin_commands() -> list[BotCommand]:
    """What admins see in the staff chat: the staff commands and the saved-reply library."""
    return [
        *staff_commands(),
        BotCommand(command="canned_add", description=_("Add a saved reply")),
        BotCommand(command="canned_edit", description=_("Change a saved reply")),
        BotCommand(command="canned_del", description=_("Remove a saved reply")),
    ]


def description() -> str:
    return _(
        "Questions and answers on protecting trademarks, patents, designs and copyright in "
        "Kazakhstan, for rights holders and their representatives. In Kazakh, Russian, Korean "
        "and English, on behalf of the Committee on Intellectual Property Rights of the "
        "Ministry of Justice."
    )


def short_description() -> str:
    return _("IP protection in Kazakhstan: answers and help for rights holders.")


async def publish_profile(bot: Bot, i18n: I18n, features: Features) -> None:
    """Set per-language commands and descriptions; the bare call (no language) is English."""
    try:
        for lang in (*LANGUAGES, None):
            with i18n.context(), i18n.use_locale(lang or DEFAULT_LANGUAGE):
                await bot.set_my_commands(
                    user_commands(features),
                    scope=BotCommandScopeAllPrivateChats(),
                    language_code=lang,
                )
                await bot.set_my_description(description(), language_code=lang)
                await bot.set_my_short_description(short_description(), language_code=lang)
    except TelegramAPIError:
        # A cosmetic call must not keep the bot from starting; it is retried on the next start.
        log.warning("could not publish the bot's commands and descriptions", exc_info=True)


# -- admins' own command menus ---------------------------------------------------------------------


def admin_commands(features: Features) -> list[BotCommand]:
    """An admin's menu: everything a user has, then the admin commands."""
    return [
        *user_commands(features),
        BotCommand(command="broadcast", description=_("Send an announcement")),
        BotCommand(command="grant", description=_("Grant a role")),
        BotCommand(command="revoke", description=_("Take a role back")),
        BotCommand(command="staff", description=_("Staff and admins")),
        BotCommand(command="audit", description=_("Audit log")),
        BotCommand(command="stats", description=_("Statistics and charts")),
        BotCommand(
            command="export", description=_("Export tickets, users or unanswered questions")
        ),
    ]


async def show_admin_commands(bot: Bot, i18n: I18n, features: Features, admin_id: int) -> bool:
    """Admin commands in this admin's private chat only (a chat scope per admin, per language).
    False when Telegram refused (e.g. they never started the bot)."""
    try:
        for lang in (*LANGUAGES, None):
            with i18n.context(), i18n.use_locale(lang or DEFAULT_LANGUAGE):
                await bot.set_my_commands(
                    admin_commands(features),
                    scope=BotCommandScopeChat(chat_id=admin_id),
                    language_code=lang,
                )
    except TelegramAPIError:
        log.warning("could not publish the admin commands", extra={"admin_id": admin_id})
        return False
    return True


async def hide_admin_commands(bot: Bot, user_id: int) -> bool:
    """Back to the menu everyone has (the chat scope is removed)."""
    try:
        for lang in (*LANGUAGES, None):
            await bot.delete_my_commands(
                scope=BotCommandScopeChat(chat_id=user_id), language_code=lang
            )
    except TelegramAPIError:
        log.warning("could not withdraw the admin commands", extra={"user_id": user_id})
        return False
    return True


async def publish_staff_commands(bot: Bot, i18n: I18n, settings: Settings) -> None:
    """Staff commands in the staff chat only, in the staff language; admins also see theirs.

    Registered without a language code, so every member sees them whatever their app's
    language (the staff chat speaks one language)."""
    chat_id = settings.staff_chat_id
    if chat_id is None:
        return
    with i18n.context(), i18n.use_locale(settings.staff_language):
        staff, admin = staff_commands(), staff_admin_commands()
    try:
        await bot.set_my_commands(staff, scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError:
        log.warning("could not publish the staff commands", exc_info=True)
        return
    for admin_id in sorted(settings.admin_ids):
        try:
            await bot.set_my_commands(
                admin, scope=BotCommandScopeChatMember(chat_id=chat_id, user_id=admin_id)
            )
        except TelegramAPIError:  # e.g. not a member of the staff chat (yet)
            log.warning("could not publish the admin commands for %s", admin_id)
