"""How the complaint dialog reads: one question per step, hints, the summary and the receipt."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import WorkingHours
from bot.services.intake import (
    MAX_ATTACHMENTS,
    TEXT_STEPS,
    AnswerError,
    Invalid,
    Kind,
    Right,
    Step,
)
from bot.services.reminders import RenderReminder
from db.models import Draft, Ticket
from handlers.callbacks import ComplaintCb, TicketCb


def kind_label(kind: str) -> str:
    labels = {
        Kind.COUNTERFEIT: _("Counterfeit goods"),
        Kind.ONLINE: _("Online infringement"),
        Kind.CUSTOMS: _("Customs"),
        Kind.PROCEDURE: _("Registration or procedure question"),
        Kind.OTHER: _("Other"),
    }
    return labels.get(kind, kind)  # type: ignore[call-overload]


def right_label(right: str) -> str:
    labels = {
        Right.TRADEMARK: _("Trademark"),
        Right.PATENT: _("Patent"),
        Right.DESIGN: _("Industrial design"),
        Right.COPYRIGHT: _("Copyright"),
    }
    return labels.get(right, right)  # type: ignore[call-overload]


def kind_with_topic(kind: str, topic: str | None) -> str:
    """The "Type" value, followed on its own line by the FAQ entry a question came from.

    (A line of its own inside the "Type" field, so the summary and card templates stay as
    translated.)
    """
    label = kind_label(kind)
    if not topic:
        return label
    return _("{kind}\n<b>FAQ topic:</b> {topic}").format(kind=label, topic=escape(topic))


def question(step: Step, files: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    if step is Step.KIND:
        text = _(
            "<b>New complaint</b> (send /cancel at any time to stop)\n\n"
            "What would you like to report?"
        )
        for kind in Kind:
            kb.button(
                text=kind_label(kind),
                callback_data=ComplaintCb(action="choose", step=step, value=kind),
            )
    elif step is Step.RIGHT:
        text = _("Which right is concerned?")
        for right in Right:
            kb.button(
                text=right_label(right),
                callback_data=ComplaintCb(action="choose", step=step, value=right),
            )
    elif step is Step.REGISTRATION:
        text = _(
            "If the right is registered, send its registration or certificate number "
            "(for example, KZ 12345). If not, or if you do not know it, press Skip."
        )
        kb.button(text=_("Skip"), callback_data=ComplaintCb(action="skip", step=step))
    elif step is Step.LOCATION:
        text = _(
            "Where did you find the infringement? Send an address, a market or shop, or a link."
        )
    elif step is Step.DESCRIPTION:
        text = _(
            "Describe what happened: what the goods or content are, since when, and anything "
            "else that helps our staff."
        )
    elif step is Step.COMPANY:
        text = _("Which company do you represent (the rights holder or its representative)?")
    elif step is Step.CONTACT:
        text = _(
            "How can our staff reach you outside this chat? "
            "Send an e-mail address or a phone number."
        )
    elif step is Step.EVIDENCE:
        text = _(
            "Send photos, documents or videos as evidence (up to {limit} files; an album is fine). "
            "Press Done when you have finished, or Skip if you have none."
        ).format(limit=MAX_ATTACHMENTS)
        if files:
            kb.button(text=_("Done"), callback_data=ComplaintCb(action="skip", step=step))
        else:
            kb.button(text=_("Skip"), callback_data=ComplaintCb(action="skip", step=step))
    elif step is Step.CONSENT:
        text = _(
            "<b>Consent to the processing of personal data</b>\n\n"
            "To handle your complaint, we store your answers, the files you sent and your contact "
            "details, and pass them to the staff of the Committee on Intellectual Property Rights. "
            "They are used only for this complaint and kept as /privacy describes.\n\n"
            "Do you agree?"
        )
        kb.button(text=_("✅ I agree"), callback_data=ComplaintCb(action="consent", step=step))
        kb.button(text=_("Cancel"), callback_data=ComplaintCb(action="cancel"))
    else:
        raise ValueError(f"no question for {step}")
    kb.adjust(1)
    return text, kb.as_markup()


def summary(draft: Draft, files: int, topic: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """`topic`: the title of the FAQ entry the question came from, in the reader's language."""
    right = right_label(draft.right or "")
    if draft.registration_number:
        right = f"{right}, № {escape(draft.registration_number)}"
    text = _(
        "<b>Please check your complaint</b>\n\n"
        "<b>Type:</b> {kind}\n"
        "<b>Right:</b> {right}\n"
        "<b>Where:</b> {location}\n"
        "<b>What happened:</b> {description}\n"
        "<b>Company:</b> {company}\n"
        "<b>Contact:</b> {contact}\n"
        "<b>Files:</b> {files}"
    ).format(
        kind=kind_with_topic(draft.kind or "", topic),
        right=right,
        location=escape(draft.location or ""),
        description=escape(draft.description or ""),
        company=escape(draft.company or ""),
        contact=escape(draft.contact or ""),
        files=files,
    )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Send"), callback_data=ComplaintCb(action="confirm"))
    kb.button(text=_("✏️ Change something"), callback_data=ComplaintCb(action="edit"))
    kb.button(text=_("✖️ Cancel"), callback_data=ComplaintCb(action="cancel"))
    kb.adjust(1)
    return text, kb.as_markup()


def edit_menu() -> tuple[str, InlineKeyboardMarkup]:
    fields = {
        Step.KIND: _("Type"),
        Step.RIGHT: _("Right"),
        Step.REGISTRATION: _("Registration number"),
        Step.LOCATION: _("Where"),
        Step.DESCRIPTION: _("What happened"),
        Step.COMPANY: _("Company"),
        Step.CONTACT: _("Contact"),
        Step.EVIDENCE: _("Files"),
    }
    kb = InlineKeyboardBuilder()
    for step, label in fields.items():
        kb.button(text=label, callback_data=ComplaintCb(action="field", step=step))
    kb.adjust(2)
    return _("What would you like to change?"), kb.as_markup()


def hint(error: AnswerError) -> str:
    limits = error.limits
    if error.reason is Invalid.TOO_SHORT and limits:
        return _("That is too short: please write at least {min} characters.").format(
            min=limits.min
        )
    if error.reason is Invalid.TOO_LONG and limits:
        return _("That is too long: please keep it under {max} characters.").format(max=limits.max)
    if error.reason is Invalid.BAD_REGISTRATION:
        return _("A registration number has only letters, digits, spaces and the signs / . - # №.")
    if error.reason is Invalid.BAD_CONTACT:
        return _("Please send an e-mail address or a phone number, so our staff can reach you.")
    if error.reason is Invalid.TOO_MANY_FILES:
        return _("That is the most files one complaint can hold. Press Done to continue.")
    return _("Please choose one of the buttons above.")


def use_buttons() -> str:
    return _("Please choose one of the buttons above.")


def describe_hours(hours: WorkingHours, offset: str) -> str:
    """ "Mon–Fri 09:00–18:00 (UTC+5)" in the reader's language."""
    names = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    days = sorted(hours.days)
    span = names[days[0]] if len(days) == 1 else f"{names[days[0]]}–{names[days[-1]]}"
    return f"{span} {hours.start:%H:%M}–{hours.end:%H:%M} ({offset})"


def text_please() -> str:
    return _("Please answer this question with text.")


def evidence_please() -> str:
    return _(
        "Only photos, documents and videos can be added as evidence. Send one of those, "
        "or press the button above to go on."
    )


def file_received(count: int) -> str:
    return _("File received ({count} in total). Send more, or press Done.").format(count=count)


def receipt_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("↩️ Back to questions and answers"),
        callback_data=TicketCb(action="leave", id=ticket.id),
    )
    return kb.as_markup()


def left(ticket: Ticket) -> str:
    return _(
        "Your messages now go to questions and answers again. Staff replies on {number} "
        "still reach you here."
    ).format(number=ticket.number)


def closed(ticket: Ticket) -> str:
    return _(
        "Ticket {number} is closed. Thank you for writing to us. To raise a new matter, "
        "send /complaint."
    ).format(number=ticket.number)


def receipt(ticket: Ticket, hours: str, open_now: bool) -> str:
    when = (
        _("Staff are at work now and will answer here in this chat.")
        if open_now
        else _("It is outside working hours now: staff will answer here on the next working day.")
    )
    return _(
        "✅ <b>Ticket {number} received.</b>\n\n"
        "Your complaint is saved and handed to the staff of the Committee on Intellectual "
        "Property Rights. Working hours: {hours}. {when}\n\n"
        "Anything you write in this chat now is added to the ticket."
    ).format(number=ticket.number, hours=hours, when=when)


def cancelled() -> str:
    return _("The complaint was cancelled and nothing was sent.")


def still_open(step: Step) -> str:
    """Above the dialog's current question, shown again to someone who left its screen."""
    if step in TEXT_STEPS:
        return _(
            "📝 Your complaint is not finished yet: your next message will be taken as the "
            "answer to the question below. Send /cancel to discard the complaint."
        )
    return _("📝 Your complaint is not finished yet: it goes on below. Send /cancel to discard it.")


def nothing_to_cancel() -> str:
    return _("There is nothing to cancel.")


def album_received(album: int, total: int) -> str:
    text = _("Album received: {album} files ({total} in total). Send more, or press Done.").format(
        album=album, total=total
    )
    if total >= MAX_ATTACHMENTS:
        text = f"{text}\n\n{hint(AnswerError(Invalid.TOO_MANY_FILES))}"
    return text


def reminder(started: datetime, tz: tzinfo) -> str:
    return _(
        "You started a complaint on {date} and did not finish it. Send /complaint to continue "
        "where you left off, or /cancel to discard it."
    ).format(date=f"{started.astimezone(tz):%d.%m.%Y}")


def reminder_renderer(i18n: I18n, tz: tzinfo) -> RenderReminder:
    """The reminder in each user's own language, for the sweep that runs outside any update."""

    def render(language: str, started: datetime) -> str:
        with i18n.context(), i18n.use_locale(language):
            return reminder(started, tz)

    return render
