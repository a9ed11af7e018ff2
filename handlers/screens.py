"""Showing a screen in answer to a button: edit the message in place, or send a new one."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.telegram_errors import Failure, classify


async def show(
    query: CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    answered: bool = False,
) -> None:
    """Replace the pressed message's screen; a double tap (nothing to change) is not an error.

    The button press is acknowledged here unless the caller already answered it (with a toast).
    """
    if not answered:
        await acknowledge(query)
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            failure = classify(exc)
            if failure is Failure.NOT_MODIFIED:
                return
            if failure is not Failure.MESSAGE_GONE:
                raise
    if message is not None:
        # Too old to edit, or deleted: show the screen as a new message instead.
        await query.bot.send_message(message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]


async def refuse_stale(query: CallbackQuery) -> None:
    """A button from an old menu, or forged data: say so, change nothing."""
    await acknowledge(
        query, _("This button is no longer valid. Please open the menu again: /start"), True
    )


async def acknowledge(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press. A press can only be answered for a short while: one delivered
    again after a crash or an outage is past it, and its screen is still shown."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramBadRequest as exc:
        if classify(exc) is not Failure.QUERY_EXPIRED:
            raise


async def replace_markup(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Change a message's buttons; nothing to change, or a message gone, is not an error."""
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest as exc:
        if classify(exc) not in (Failure.NOT_MODIFIED, Failure.MESSAGE_GONE):
            raise
