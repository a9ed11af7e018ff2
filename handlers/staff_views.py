"""What the desk posts in the staff chat, in the staff language."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.desk import Renderers
from bot.services.faq import FaqCatalogue
from db.models import Ticket
from handlers.intake_views import kind_label, kind_with_topic, right_label


def renderers(i18n: I18n, staff_language: str, faq: FaqCatalogue | None = None) -> Renderers:
    """`faq` names a question's FAQ topic on the card (in the staff language)."""

    def card_with_topic(ticket: Ticket, files: int) -> str:
        topic = faq.title(ticket.faq_entry_id, staff_language) if faq is not None else None
        return card(ticket, files, topic)

    def in_staff_language(render: Callable[..., str]) -> Callable[..., str]:
        def wrapped(*args: object) -> str:
            with i18n.context(), i18n.use_locale(staff_language):
                return render(*args)

        return wrapped

    return Renderers(
        topic_name=in_staff_language(topic_name),
        card=in_staff_language(card_with_topic),
        topic_recreated=in_staff_language(topic_recreated),
        user_blocked=in_staff_language(user_blocked),
    )


def topic_name(ticket: Ticket) -> str:
    return " · ".join(
        (ticket.number, ticket.company[:40], kind_label(ticket.kind), ticket.language.upper())
    )


def card(ticket: Ticket, files: int, topic: str | None = None) -> str:
    right = right_label(ticket.right)
    if ticket.registration_number:
        right = f"{right}, № {escape(ticket.registration_number)}"
    return _(
        "🆕 <b>{number}</b>\n\n"
        "<b>Type:</b> {kind}\n"
        "<b>Right:</b> {right}\n"
        "<b>Where:</b> {location}\n"
        "<b>What happened:</b> {description}\n"
        "<b>Company:</b> {company}\n"
        "<b>Contact:</b> {contact}\n"
        "<b>Language:</b> {language}\n"
        "<b>Files:</b> {files}\n\n"
        "Write in this topic to answer the user. Messages starting with // or /note stay "
        "internal."
    ).format(
        number=ticket.number,
        kind=kind_with_topic(ticket.kind, topic),
        right=right,
        location=escape(ticket.location),
        description=escape(ticket.description),
        company=escape(ticket.company),
        contact=escape(ticket.contact),
        language=ticket.language.upper(),
        files=files,
    )


def topic_recreated(ticket: Ticket) -> str:
    return _("The previous topic of {number} was deleted; the conversation continues here.").format(
        number=ticket.number
    )


def user_blocked(ticket: Ticket) -> str:
    return _(
        "The user of {number} has blocked the bot: messages to them cannot be delivered."
    ).format(number=ticket.number)


def closed(ticket: Ticket) -> str:
    return _("{number} is closed; the user has been told.").format(number=ticket.number)


def staff_only() -> str:
    return _("Only the desk's staff can act here; nothing was changed.")
