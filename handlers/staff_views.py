"""What the desk posts in the staff chat, in the staff language."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta, tzinfo
from html import escape, unescape
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.languages import LANGUAGES
from bot.services.canned import CannedError, Problem
from bot.services.desk import TO_STAFF, Renderers
from bot.services.faq import FaqCatalogue
from bot.services.lifecycle import Outcome, Result, StaffTexts, Status, View
from db.models import CannedReply, RelayedMessage, Ticket
from handlers.callbacks import CannedCb, StaffTicketCb
from handlers.intake_views import kind_label, kind_with_topic, right_label
from handlers.ticket_views import status_label

# What a topic's title starts with once its ticket has moved on from "new".
STATUS_MARK = {Status.IN_PROGRESS: "🛠", Status.RESOLVED: "✅", Status.CLOSED: "🔒"}
LIST_MARK = {Status.NEW: "🆕", **STATUS_MARK}
_TAG = re.compile(r"<[^>]+>")

HISTORY_PREVIEW = 120  # characters of each message in the history summary
HISTORY_TEXT_LIMIT = 3900  # under Telegram's 4096


def _in_language(i18n: I18n, language: str, render: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: object) -> Any:
        with i18n.context(), i18n.use_locale(language):
            return render(*args)

    return wrapped


def renderers(
    i18n: I18n, staff_language: str, faq: FaqCatalogue | None = None, tz: tzinfo = UTC
) -> Renderers:
    """`faq` names a question's FAQ topic on the card (in the staff language); `tz` is the
    desk's time zone for the history summary in a re-created topic."""

    def staff(render: Callable[..., Any]) -> Callable[..., Any]:
        return _in_language(i18n, staff_language, render)

    def card_with_topic(ticket: Ticket, files: int) -> str:
        topic = faq.title(ticket.faq_entry_id, staff_language) if faq is not None else None
        return card(ticket, files, topic)

    return Renderers(
        topic_name=staff(topic_name),
        card=staff(card_with_topic),
        topic_recreated=staff(topic_recreated),
        user_blocked=staff(user_blocked),
        history=staff(lambda ticket, entries, total: history(ticket, entries, total, tz)),
        card_markup=staff(card_markup),
    )


def lifecycle_texts(i18n: I18n, staff_language: str) -> StaffTexts:
    def staff(render: Callable[..., Any]) -> Callable[..., Any]:
        return _in_language(i18n, staff_language, render)

    return StaffTexts(
        user_reopened=staff(user_reopened),
        user_followed_up=staff(user_followed_up),
        user_closed=staff(user_closed),
        rated=staff(rated),
        waiting=staff(waiting),
        topic_name=staff(topic_name),
    )


def topic_link(ticket: Ticket) -> str | None:
    """t.me link to the ticket's topic (supergroups only), for lists and alerts."""
    chat = str(ticket.staff_chat_id or "")
    if not chat.startswith("-100") or ticket.topic_id is None:
        return None
    return f"https://t.me/c/{chat[4:]}/{ticket.topic_id}"


def plain(html_text: str, limit: int = 200) -> str:
    """An HTML text as a button's answer shows it (no markup; Telegram's 200 characters)."""
    return unescape(_TAG.sub("", html_text))[:limit]


def linked_number(ticket: Ticket) -> str:
    link = topic_link(ticket)
    return f'<a href="{link}">{ticket.number}</a>' if link else ticket.number


def topic_name(ticket: Ticket) -> str:
    """`IP-2026-000123 · ACME Korea · Counterfeit goods · KO`, after a mark of its status."""
    name = " · ".join(
        (ticket.number, ticket.company[:40], kind_label(ticket.kind), ticket.language.upper())
    )
    mark = STATUS_MARK.get(ticket.status)  # type: ignore[call-overload]
    return f"{mark} {name}" if mark else name


def card(ticket: Ticket, files: int, topic: str | None = None) -> str:
    right = right_label(ticket.right)
    if ticket.registration_number:
        right = f"{right}, № {escape(ticket.registration_number)}"
    text = _(
        "🆕 <b>{number}</b>\n\n"
        "<b>Type:</b> {kind}\n"
        "<b>Right:</b> {right}\n"
        "<b>Where:</b> {location}\n"
        "<b>What happened:</b> {description}\n"
        "<b>Company:</b> {company}\n"
        "<b>Contact:</b> {contact}\n"
        "<b>Language:</b> {language}\n"
        "<b>Files:</b> {files}"
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
    if ticket.previous_ticket_id is not None:
        text += "\n\n" + _(
            "↩️ This follows the user's earlier ticket no. {id} (/find {id}), resolved more "
            "than a week ago."
        ).format(id=f"{ticket.previous_ticket_id:06d}")
    if ticket.topic_id is not None:
        how = _(
            "Write in this topic to answer the user. Messages starting with // or /note stay "
            "internal."
        )
    else:
        how = _(
            "Reply to this card, or to any message of this ticket, to answer the user. "
            "Messages starting with // or /note stay internal."
        )
    return f"{text}\n\n{how}"


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


def marks() -> str:
    return _(
        "Under your messages: 👌 delivered, ⚡ not yet (retrying), 💔 the user blocked the bot, "
        "🤷 refused by Telegram."
    )


def content_label(kind: str | None) -> str:
    labels = {
        "photo": _("photo"),
        "video": _("video"),
        "document": _("file"),
        "voice": _("voice message"),
        "audio": _("audio"),
        "sticker": _("sticker"),
        "animation": _("GIF"),
        "video_note": _("video message"),
    }
    return labels.get(kind or "text", _("attachment"))


def history(ticket: Ticket, entries: Sequence[RelayedMessage], total: int, tz: tzinfo = UTC) -> str:
    """The conversation so far, one line a message: time, who, what (the summary re-posted
    in a re-created topic)."""
    head = _("🗂 <b>{number}: the conversation so far</b> (last {shown} of {total})").format(
        number=ticket.number, shown=len(entries), total=total
    )
    lines = [head]
    for entry in entries:
        who = "👤" if entry.direction == TO_STAFF else "💬"
        what = escape(_shorten(entry.preview or "", HISTORY_PREVIEW))
        if entry.content not in (None, "text"):
            what = f"[{content_label(entry.content)}] {what}".rstrip()
        lines.append(f"{entry.created_at.astimezone(tz):%d.%m %H:%M} {who} {what}")
    while len("\n".join(lines)) > HISTORY_TEXT_LIMIT and len(lines) > 2:
        del lines[1]  # the oldest go first
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_markup(ticket: Ticket) -> dict[str, Any]:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🙋 Take"), callback_data=StaffTicketCb(action="take", id=ticket.id))
    kb.button(text=_("✅ Resolve"), callback_data=StaffTicketCb(action="resolve", id=ticket.id))
    kb.button(text=_("🔒 Close"), callback_data=StaffTicketCb(action="close", id=ticket.id))
    kb.adjust(3)
    return kb.as_markup().model_dump(exclude_none=True)


# -- what a staff action did ------------------------------------------------------------------


def outcome(action: str, result: Result, who: str) -> str:
    """What happened when `who` (a name) tried `action` on the ticket, for the topic."""
    ticket = result.ticket
    number, status = ticket.number, status_label(ticket.status)
    if result.outcome is Outcome.TAKEN:
        return _("{number} is already taken by {who}.").format(number=number, who=escape(who))
    if result.outcome is Outcome.ALREADY:
        return _("{number} is already {status}.").format(number=number, status=status)
    if result.outcome is Outcome.REFUSED:
        return _("{number} is {status}: this cannot be done now.").format(
            number=number, status=status
        )
    done = {
        "take": _("{who} took {number}; the user has been told a specialist is on it."),
        "assign": _("{number} is assigned to {who}."),
        "resolve": _("{number} is resolved; the user has been asked to rate the help."),
        "close": _("{number} is closed; the user has been told."),
        "reopen": _("{number} is open again; the user's messages go to it."),
    }
    return done[action].format(number=number, who=escape(who))


def user_reopened(ticket: Ticket) -> str:
    return _("🔁 The user wrote again: {number} is open again.").format(number=ticket.number)


def user_followed_up(old: Ticket, new: Ticket) -> str:
    return _(
        "↩️ The user wrote again more than a week after {old} was resolved: their message "
        "starts a new ticket, {new}, and {old} is closed."
    ).format(old=old.number, new=new.number)


def user_closed(ticket: Ticket) -> str:
    return _("🔒 The user closed {number}.").format(number=ticket.number)


def waiting(ticket: Ticket, waited: timedelta) -> str:
    hours = round(waited.total_seconds() / 3600, 1)
    return _("⏰ {number} ({company}) has waited {hours} working hours without an answer.").format(
        number=linked_number(ticket), company=escape(ticket.company), hours=f"{hours:g}"
    )


def not_in_a_ticket() -> str:
    return _("Use this command in a ticket's topic.")


def unknown_staff(name: str) -> str:
    return _(
        "I have not seen {name} in this chat yet: they need to write here once. "
        "Usage: /assign @username"
    ).format(name=escape(name))


def unknown_command() -> str:
    """Staff's help: the commands, and what the marks under their messages mean (not on the
    card, which must leave room for the longest complaint)."""
    commands = _(
        "Unknown command; nothing was sent to the user. In a ticket's topic: /take, "
        "/assign @name, /resolve, /close, /reopen, /note, /canned. Anywhere here: "
        "/tickets [new|mine|waiting], /find."
    )
    return f"{commands}\n{marks()}"


def admin_only() -> str:
    return _("Only the desk's admins can change the saved replies.")


# -- lists ------------------------------------------------------------------------------------


def listing(view: View, tickets: Sequence[Ticket], names: dict[int, str], tz: tzinfo) -> str:
    titles = {
        View.OPEN: _("<b>Open tickets</b>"),
        View.NEW: _("<b>New tickets</b>"),
        View.MINE: _("<b>Your tickets</b>"),
        View.WAITING: _("<b>Tickets waiting for an answer</b>"),
    }
    if not tickets:
        return f"{titles[view]}\n\n" + _("None.")
    return f"{titles[view]}\n\n" + "\n".join(line(t, names, tz) for t in tickets)


def line(ticket: Ticket, names: dict[int, str], tz: tzinfo) -> str:
    mark = LIST_MARK.get(ticket.status, "")  # type: ignore[call-overload]
    who = escape(names[ticket.taken_by]) if ticket.taken_by is not None else "—"
    filed = f"{ticket.created_at.astimezone(tz):%d.%m %H:%M}"
    return (
        f"{mark} {linked_number(ticket)} · {escape(ticket.company[:40])} · "
        f"{status_label(ticket.status)} · {who} · {filed}"
    )


def found(query: str, tickets: Sequence[Ticket], names: dict[int, str], tz: tzinfo) -> str:
    if not tickets:
        return _("Nothing found for “{query}”. Send /find IP-2026-000123 or /find a word.").format(
            query=escape(query)
        )
    title = _("<b>Found:</b> {count}").format(count=len(tickets))
    return f"{title}\n\n" + "\n".join(line(t, names, tz) for t in tickets)


# -- saved replies ----------------------------------------------------------------------------


def canned_library(replies: Sequence[CannedReply]) -> str:
    usage = _(
        "Admins add one with /canned_add name and a line per language (kk:, ru:, ko:, en:), "
        "change it with /canned_edit name and the lines to change, remove it with "
        "/canned_del name."
    )
    if not replies:
        return _("<b>Saved replies</b>\n\nNone yet.") + "\n\n" + usage
    entries = []
    for reply in replies:
        texts = "\n".join(f"  {lang}: {escape(_preview(reply.text(lang)))}" for lang in LANGUAGES)
        entries.append(f"<b>{escape(reply.name)}</b>\n{texts}")
    return _("<b>Saved replies</b>") + "\n\n" + "\n\n".join(entries) + "\n\n" + usage


def canned_menu(
    ticket: Ticket, replies: Sequence[CannedReply]
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not replies:
        return canned_library(replies), None
    kb = InlineKeyboardBuilder()
    for reply in replies:
        kb.button(text=reply.name, callback_data=CannedCb(id=reply.id, ticket=ticket.id))
    kb.adjust(2)
    text = _("Choose a saved reply: it goes to the user of {number} in their language ({lang}).")
    return text.format(number=ticket.number, lang=ticket.language.upper()), kb.as_markup()


def canned_sent(reply: CannedReply, language: str, text: str) -> str:
    return (
        _("📨 Saved reply “{name}” sent in {lang}:").format(
            name=escape(reply.name), lang=language.upper()
        )
        + f"\n\n{escape(text)}"
    )


def canned_saved(reply: CannedReply) -> str:
    return _("Saved reply “{name}” is saved.").format(name=escape(reply.name))


def canned_removed(name: str) -> str:
    return _("Saved reply “{name}” is removed.").format(name=escape(name))


def canned_problem(error: CannedError) -> str:
    usage = _(
        "Usage:\n/canned_add name\nkk: text in Kazakh\nru: text in Russian\nko: text in "
        "Korean\nen: text in English"
    )
    problems = {
        Problem.BAD_NAME: _("A name has up to 32 Latin letters, digits, - or _."),
        Problem.NO_TEXT: _(
            "No text was found: start each language's text with kk:, ru:, ko: or en:."
        ),
        Problem.MISSING: _("A new saved reply needs all four languages; missing: {langs}."),
        Problem.TOO_LONG: _("That text is too long for one message."),
        Problem.EXISTS: _("A saved reply with this name exists: change it with /canned_edit."),
        Problem.UNKNOWN: _("There is no saved reply with this name; /canned lists them."),
    }
    text = problems[error.problem].format(langs=", ".join(error.missing))
    return f"{text}\n\n{escape(usage)}"


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rated(ticket: Ticket) -> str:
    text = _("⭐ The user rated the help with {number}: {score} out of 5.").format(
        number=ticket.number, score=ticket.csat_score
    )
    if ticket.csat_comment:
        text += "\n" + _("Their comment: {comment}").format(comment=escape(ticket.csat_comment))
    return text
