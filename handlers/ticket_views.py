"""How a ticket's life reads to its user: notices, the rating, /mytickets and a ticket's page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.lifecycle import REOPEN_WINDOW, History, Status, UserTexts
from bot.services.working_hours import utc_offset
from db.models import Ticket
from handlers import intake_views
from handlers.callbacks import RateCb, TicketCb

SCORES = (1, 2, 3, 4, 5)


def status_label(status: str) -> str:
    labels = {
        Status.NEW: _("new"),
        Status.IN_PROGRESS: _("in progress"),
        Status.RESOLVED: _("resolved"),
        Status.CLOSED: _("closed"),
    }
    return labels.get(status, status)  # type: ignore[call-overload]


def user_texts(i18n: I18n, tz: tzinfo) -> UserTexts:
    """The lifecycle's notices, each in the language it is asked for."""

    def in_language(render: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(language: str, *args: object) -> Any:
            with i18n.context(), i18n.use_locale(language):
                return render(*args)

        return wrapped

    return UserTexts(
        taken=in_language(taken),
        resolved=in_language(resolved),
        closed=in_language(intake_views.closed),
        reopened=in_language(reopened),
        followed_up=in_language(followed_up),
        off_hours=in_language(lambda back: off_hours(back.astimezone(tz))),
    )


def taken(ticket: Ticket) -> str:
    return _(
        "👩‍💼 A specialist is now working on your ticket {number}. They will write to you here."
    ).format(number=ticket.number)


def resolved(ticket: Ticket) -> tuple[str, dict[str, Any]]:
    text = _(
        "✅ Your ticket {number} is resolved. If something is still unclear, just write here "
        "within {days} days and it will be reopened.\n\nHow would you rate our help?"
    ).format(number=ticket.number, days=REOPEN_WINDOW.days)
    return text, rating_keyboard(ticket).model_dump(exclude_none=True)


def rating_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for score in SCORES:
        kb.button(text=f"{score} ⭐", callback_data=RateCb(id=ticket.id, score=score))
    kb.adjust(len(SCORES))
    return kb.as_markup()


def reopened(ticket: Ticket) -> str:
    return _("Ticket {number} is open again: what you write here goes to our staff.").format(
        number=ticket.number
    )


def followed_up(old: Ticket, new: Ticket) -> str:
    return _(
        "Ticket {old} was resolved more than {days} days ago, so your message starts a new "
        "ticket, {new}, linked to it. Our staff will answer here."
    ).format(old=old.number, new=new.number, days=REOPEN_WINDOW.days)


def off_hours(back: datetime) -> str:
    """`back` is in the service's time zone."""
    days = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    when = f"{days[back.weekday()]} {back:%d.%m %H:%M} ({utc_offset(back)})"
    return _(
        "Our staff are not at work right now. Your message is saved, and they will answer "
        "from {when}."
    ).format(when=when)


# -- rating -----------------------------------------------------------------------------------


def rated(score: int) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=RateCb(id=0, score=0))
    text = _(
        "Thank you! You rated our help {score} out of 5. If you like, write a comment in one "
        "message now, or press Skip."
    ).format(score=score)
    return text, kb.as_markup()


def rating_done() -> str:
    return _("Thank you for your rating.")


def comment_saved() -> str:
    return _("Thank you, your comment has been passed on to our staff.")


# -- /mytickets -------------------------------------------------------------------------------


def listing(
    tickets: list[Ticket], active: int | None, tz: tzinfo
) -> tuple[str, InlineKeyboardMarkup]:
    if not tickets:
        return _("You have no tickets yet. To file a complaint, send /complaint."), (
            InlineKeyboardMarkup(inline_keyboard=[])
        )
    lines = [_("<b>Your tickets</b>")]
    kb = InlineKeyboardBuilder()
    for ticket in tickets:
        mark = " ◀️" if ticket.id == active else ""
        activity = f"{ticket.updated_at.astimezone(tz):%d.%m.%Y %H:%M}"
        lines.append(f"{ticket.number} · {status_label(ticket.status)} · {activity}{mark}")
        kb.button(text=ticket.number, callback_data=TicketCb(action="open", id=ticket.id))
    lines += ["", _("Choose a ticket to see it, add information or close it.")]
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def page(ticket: Ticket, history: History, tz: tzinfo) -> tuple[str, InlineKeyboardMarkup]:
    """One ticket: where it stands and what happened; the buttons for what can be done."""
    local = ticket.created_at.astimezone(tz)
    lines = [
        _("<b>Ticket {number}</b> · {status}").format(
            number=ticket.number, status=status_label(ticket.status)
        ),
        _("Filed on {date}: {kind}, {company}.").format(
            date=f"{local:%d.%m.%Y}",
            kind=intake_views.kind_label(ticket.kind),
            company=escape(ticket.company),
        ),
        _("Messages: {mine} from you, {staff} from our staff.").format(
            mine=history.from_user, staff=history.from_staff
        ),
        _("Last activity: {when}.").format(
            when=f"{ticket.updated_at.astimezone(tz):%d.%m.%Y %H:%M}"
        ),
    ]
    if ticket.taken_at is not None and ticket.status == Status.IN_PROGRESS:
        lines.append(_("A specialist is working on it."))
    if ticket.resolved_at is not None:
        when = f"{ticket.resolved_at.astimezone(tz):%d.%m.%Y}"
        lines.append(_("Resolved on {date}.").format(date=when))
    if ticket.csat_score is not None:
        lines.append(_("Your rating: {score} out of 5.").format(score=ticket.csat_score))
    kb = InlineKeyboardBuilder()
    if ticket.status != Status.CLOSED:
        lines += ["", _("Your messages in this chat now go to this ticket.")]
        kb.button(text=_("✍️ Add information"), callback_data=TicketCb(action="add", id=ticket.id))
        kb.button(
            text=_("✅ Close the ticket"), callback_data=TicketCb(action="close", id=ticket.id)
        )
    kb.button(text=_("⬅️ All tickets"), callback_data=TicketCb(action="list"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def add_information(ticket: Ticket) -> str:
    return _(
        "Write what you want to add to {number}: text, photos or documents. It goes to our "
        "staff as you send it."
    ).format(number=ticket.number)


def closed_by_you(ticket: Ticket, rate: bool) -> tuple[str, InlineKeyboardMarkup | None]:
    text = _("Ticket {number} is closed. To raise a new matter, send /complaint.").format(
        number=ticket.number
    )
    if not rate:
        return text, None
    question = _("How would you rate our help?")
    return f"{text}\n\n{question}", rating_keyboard(ticket)
