"""How the admin screens read: roles, the audit log, composing a broadcast and its progress."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from bot.languages import LANGUAGES
from bot.services.audit import Action, Entry
from bot.services.broadcast import ALL_LANGUAGES, Renderers, Stats
from bot.services.intake import Kind
from bot.services.roles import ADMIN, Change, Holder
from db.models import Broadcast, User
from db.repositories.broadcasts import CANCELLED, DONE, PAUSED, RUNNING
from handlers.intake_views import kind_label
from handlers.keyboards import LANGUAGE_NAMES
from handlers.news import unsubscribe_keyboard


class BroadcastCb(CallbackData, prefix="bc"):
    """Composing (mode, audience, lang, kind, send, audience_edit, drop) and controlling
    (pause, resume, stop) a broadcast."""

    action: str
    id: int = Field(0, ge=0, le=2**31 - 1)  # forged ids the database cannot hold: stale
    value: str = ""


# -- roles ----------------------------------------------------------------------------------------


def person(user: User | None, user_id: int) -> str:
    if user is None:
        return f"<code>{user_id}</code>"
    name = escape(user.first_name or "")
    handle = f" @{escape(user.username)}" if user.username else ""
    return f"{name}{handle} (<code>{user.id}</code>)"


def grant_usage() -> str:
    return _(
        "To grant a role: <code>/grant 123456789 staff</code> or "
        "<code>/grant @username admin</code>. The person must have written to the bot."
    )


def revoke_usage() -> str:
    return _(
        "To take a role back: <code>/revoke 123456789</code> or <code>/revoke @username</code>."
    )


def unknown_person() -> str:
    return _(
        "Nobody with that id or username has written to the bot yet. Ask them to send /start first."
    )


def role_label(role: str | None) -> str:
    return _("Admin") if role == ADMIN else _("Staff")


def configured(change: Change) -> str:
    return _(
        "The role of {person} ({role}) is set in the server configuration and cannot be "
        "changed here."
    ).format(person=person(change.user, 0), role=role_label(change.role))


def granted(change: Change) -> str:
    who = person(change.user, 0)
    if change.role == ADMIN:
        return _("{person} is now an admin.").format(person=who)
    return _("{person} is now a staff member.").format(person=who)


def already(change: Change) -> str:
    return _("{person} already has this role.").format(person=person(change.user, 0))


def revoked(change: Change) -> str:
    who = person(change.user, 0)
    if change.role == ADMIN:
        return _("{person} is no longer an admin.").format(person=who)
    return _("{person} is no longer a staff member.").format(person=who)


def nothing_to_revoke(change: Change) -> str:
    return _("{person} has no role granted in the bot.").format(person=person(change.user, 0))


def holders(people: list[Holder]) -> str:
    lines = [_("<b>Staff and admins</b>")]
    from_config = _("set in the configuration")
    for holder in people:
        name = escape(holder.name or "")
        handle = f" @{escape(holder.username)}" if holder.username else ""
        where = f" · {from_config}" if holder.configured else ""
        lines.append(
            f"{role_label(holder.role)} · {name}{handle} (<code>{holder.id}</code>){where}"
        )
    return "\n".join(lines)


def audit_page(entries: list[Entry], page: int, more: bool) -> str:
    if not entries:
        return _("The audit log is empty.") if page == 1 else _("No older entries.")
    lines = [_("<b>Audit log</b>, page {page} (times in UTC)").format(page=page)]
    for entry in entries:
        lines.append(
            f"{entry.at:%Y-%m-%d %H:%M} · <code>{entry.actor_id}</code> · {describe(entry)}"
        )
    if more:
        lines.append(_("Older entries: /audit {page}").format(page=page + 1))
    return "\n".join(lines)


def describe(entry: Entry) -> str:
    target = escape(entry.target.split(":", 1)[-1])
    role = role_label(entry.details.get("role"))
    if entry.action == Action.GRANT:
        return _("granted the role {role} to {target}").format(role=role, target=target)
    if entry.action == Action.REVOKE:
        return _("took the role {role} from {target}").format(role=role, target=target)
    if entry.action == Action.BROADCAST_START:
        return _("started announcement #{id} to {count} people").format(
            id=target, count=entry.details.get("recipients", "?")
        )
    if entry.action == Action.BROADCAST_PAUSE:
        return _("paused announcement #{id}").format(id=target)
    if entry.action == Action.BROADCAST_RESUME:
        return _("resumed announcement #{id}").format(id=target)
    if entry.action == Action.BROADCAST_CANCEL:
        return _("cancelled announcement #{id}").format(id=target)
    return escape(f"{entry.action} {entry.target}")


# -- composing ------------------------------------------------------------------------------------


def _cancel_button(kb: InlineKeyboardBuilder) -> None:
    kb.button(text=_("✖ Cancel"), callback_data=BroadcastCb(action="drop"))


def choose_mode() -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("One message for everyone"), callback_data=BroadcastCb(action="mode", value="one")
    )
    kb.button(text=_("One per language"), callback_data=BroadcastCb(action="mode", value="per"))
    _cancel_button(kb)
    kb.adjust(1)
    text = _(
        "<b>New announcement</b>\n\n"
        "One message for everyone, or a separate message for each language?"
    )
    return text, kb.as_markup()


def ask_content(language: str) -> str:
    if language == ALL_LANGUAGES:
        return _(
            "Send the announcement: a text, or a photo or document with a caption. "
            "Formatting is kept."
        )
    return _(
        "Send the announcement for people who use the bot in {language}: a text, or a photo "
        "or document with a caption."
    ).format(language=LANGUAGE_NAMES[language])


def no_draft() -> str:
    return _("There is no announcement being written. Start one with /broadcast.")


def content_please() -> str:
    return _("Please send a text, a photo or a document.")


def audience_menu(everyone: int) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Everyone who agreed ({count})").format(count=everyone),
        callback_data=BroadcastCb(action="audience", value="all"),
    )
    kb.button(text=_("By language"), callback_data=BroadcastCb(action="audience", value="langs"))
    kb.button(
        text=_("By kind of ticket"), callback_data=BroadcastCb(action="audience", value="kind")
    )
    _cancel_button(kb)
    kb.adjust(1)
    text = _(
        "<b>Who should receive it?</b>\n\n"
        "Only people who agreed to receive announcements get them: {count} now."
    ).format(count=everyone)
    return text, kb.as_markup()


def language_menu(
    chosen: tuple[str, ...], sizes: Mapping[str, int]
) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for code in LANGUAGES:
        mark = "✓ " if code in chosen else ""
        kb.button(
            text=f"{mark}{LANGUAGE_NAMES[code]} ({sizes.get(code, 0)})",
            callback_data=BroadcastCb(action="lang", value=code),
        )
    kb.button(text=_("Done"), callback_data=BroadcastCb(action="lang", value="done"))
    _cancel_button(kb)
    kb.adjust(2, 2, 1, 1)
    return _("Choose the languages:"), kb.as_markup()


def kind_menu() -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for kind in Kind:
        kb.button(text=kind_label(kind), callback_data=BroadcastCb(action="kind", value=kind))
    _cancel_button(kb)
    kb.adjust(1)
    return _("People who filed a ticket of this kind:"), kb.as_markup()


def choose_a_language() -> str:
    return _("Choose at least one language.")


def preview_header(language: str) -> str:
    return f"👇 {LANGUAGE_NAMES[language]}"


def confirm(sizes: Mapping[str, int]) -> tuple[str, InlineKeyboardMarkup]:
    total = sum(sizes.values())
    kb = InlineKeyboardBuilder()
    if total:
        kb.button(
            text=_("✅ Send now ({count})").format(count=total),
            callback_data=BroadcastCb(action="send"),
        )
    kb.button(text=_("👥 Change the audience"), callback_data=BroadcastCb(action="audience_edit"))
    _cancel_button(kb)
    kb.adjust(1)
    if not total:
        return _(
            "Nobody in this audience has agreed to receive announcements. Choose another audience."
        ), kb.as_markup()
    split = ", ".join(f"{code} {sizes[code]}" for code in LANGUAGES if sizes.get(code))
    text = _(
        "<b>The preview is above</b>: this is exactly what recipients will see.\n\n"
        "Recipients: {count} ({split}).\nSend it now?"
    ).format(count=total, split=split)
    return text, kb.as_markup()


def dropped() -> str:
    return _("The announcement was cancelled; nothing was sent.")


def nobody() -> str:
    return _("Nobody to send to.")


# -- progress -------------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds >= 60:
        return _("{minutes} min {seconds} s").format(minutes=seconds // 60, seconds=seconds % 60)
    return _("{seconds} s").format(seconds=seconds)


def progress(job: Broadcast, stats: Stats) -> tuple[str, InlineKeyboardMarkup | None]:
    headers = {
        RUNNING: _("📣 <b>Announcement #{id}</b>: sending"),
        PAUSED: _("⏸ <b>Announcement #{id}</b>: paused"),
        CANCELLED: _("⏹ <b>Announcement #{id}</b>: cancelled"),
        DONE: _("✅ <b>Announcement #{id}</b>: done"),
    }
    lines = [
        headers.get(job.status, headers[RUNNING]).format(id=job.id),
        "",
        _(
            "Sent: {sent} of {total}\nFailed: {failed}\nBlocked the bot: {blocked}\n"
            "Left: {left}\nRate: {rate} msg/s\nTime left: {eta}"
        ).format(
            sent=stats.sent,
            total=stats.total,
            failed=stats.failed,
            blocked=stats.blocked,
            left=stats.left,
            rate=f"{stats.rate:.1f}",
            eta=duration(stats.eta_seconds),
        ),
    ]
    if stats.skipped:
        lines.append(_("Not sent (cancelled): {count}").format(count=stats.skipped))
    if stats.reclaimed:
        lines.append(
            _("Possible duplicates after a restart: {count}").format(count=stats.reclaimed)
        )
    kb = InlineKeyboardBuilder()
    if job.status == RUNNING:
        kb.button(text=_("⏸ Pause"), callback_data=BroadcastCb(action="pause", id=job.id))
    elif job.status == PAUSED:
        kb.button(text=_("▶️ Resume"), callback_data=BroadcastCb(action="resume", id=job.id))
    if job.status in (RUNNING, PAUSED):
        kb.button(
            text=_("⏹ Cancel the broadcast"), callback_data=BroadcastCb(action="stop", id=job.id)
        )
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup() if job.status in (RUNNING, PAUSED) else None


def controlled(action: str) -> str:
    return {
        "pause": _("Paused."),
        "resume": _("Resumed."),
        "stop": _("Cancelled: nothing more will be sent."),
    }[action]


def renderers(i18n: I18n) -> Renderers:
    """What the worker shows: each recipient's keyboard in their language, the progress in
    the admin's."""

    def unsubscribe(language: str) -> dict[str, Any]:
        with i18n.context(), i18n.use_locale(language):
            return as_json(unsubscribe_keyboard())

    def render_progress(job: Broadcast, stats: Stats) -> tuple[str, dict[str, Any] | None]:
        with i18n.context(), i18n.use_locale(job.admin_language):
            text, markup = progress(job, stats)
        return text, as_json(markup) if markup is not None else None

    return Renderers(unsubscribe=unsubscribe, progress=render_progress)


def as_json(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    return markup.model_dump(mode="json", exclude_none=True)
