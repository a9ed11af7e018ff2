"""What Telegram shows about the bot: commands, description and short description per language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

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
        BotCommand(command="privacy", description=_("Your data and privacy")),
        BotCommand(command="mydata", description=_("Download your data")),
        BotCommand(command="help", description=_("What this bot can do")),
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
