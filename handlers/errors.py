"""A handler that raised: keep the update as a dead letter, say sorry, and move on."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n

from bot.languages import pick_language
from bot.outage import is_outage
from bot.services.dead_letters import DeadLetterService
from db.models import User

log = logging.getLogger("ipdesk.errors")


def create_router() -> Router:
    router = Router(name="errors")
    # A database or Redis outage is no dead letter: it propagates, and the webhook answers
    # 5xx so Telegram delivers the update again once the service is back (conventions).
    router.errors.register(on_error, not_an_outage)
    return router


def not_an_outage(event: ErrorEvent) -> bool:
    return not is_outage(event.exception)


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    dead_letters: DeadLetterService,
    i18n: I18n,
    user: User | None = None,
    event_from_user: TgUser | None = None,
) -> bool:
    update = event.update
    log.error(
        "handler failed",
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
        extra={"update_id": update.update_id, "event_type": update.event_type},
    )
    await dead_letters.record(
        update.update_id,
        update.model_dump_json(exclude_none=True),
        f"{type(event.exception).__name__}: {event.exception}",
    )
    chat = update.message.chat if update.message else None
    if update.callback_query and update.callback_query.message:
        chat = update.callback_query.message.chat
    if chat is not None and chat.type == "private":
        if user is not None:
            locale = user.language
        else:
            locale = pick_language(event_from_user.language_code if event_from_user else None)
        # The failed update's i18n context is gone; this reply sets its own.
        with i18n.context(), i18n.use_locale(locale):
            text = i18n.gettext(
                "Sorry, something went wrong on my side. It has been recorded; "
                "please try again in a minute."
            )
        try:
            await bot.send_message(chat.id, text)
        except TelegramAPIError:
            log.warning("could not tell the user about the failure", exc_info=True)
    return True
