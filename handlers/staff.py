"""The staff chat: staff answer in a ticket's topic and move the ticket along; others are refused.

"A ticket's topic" includes, in a staff group without topics, a reply to any of the ticket's
messages there (its card, the user's messages, the evidence): routed through what was stored
when those were sent, never by reading their text.

In a ticket's topic: /take, /assign @name, /resolve, /close, /reopen, /note (or //), /canned,
and the card's buttons. Anywhere in the chat: /tickets [new|mine|waiting], /find. Admins keep
the saved replies: /canned_add, /canned_edit, /canned_del.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, LinkPreviewOptions, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery import Delivery
from bot.messenger import TelegramMessenger
from bot.services.canned import CannedError, CannedLibrary
from bot.services.lifecycle import (
    ALERT_SWEEP_SECONDS,
    TOPIC_SWEEP_SECONDS,
    Lifecycle,
    Result,
    View,
)
from bot.services.staff_directory import Person, StaffDirectory
from db.models import Ticket
from handlers import relay
from handlers import staff_views as views
from handlers.callbacks import CannedCb, StaffTicketCb
from handlers.filters import IsAdmin, IsStaff
from handlers.screens import refuse_stale, show

NOTE_PREFIXES = ("//", "/note")
TOPIC_COMMANDS = ("take", "assign", "resolve", "close", "reopen", "canned")
CANNED_ADMIN = ("canned_add", "canned_edit", "canned_del")
VIEWS = {"new": View.NEW, "mine": View.MINE, "waiting": View.WAITING}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class InTicketTopic(Filter):
    """A message about a ticket: in its topic or, in a group without topics, replying to one of
    its messages. Passes the ticket to the handler as `ticket`."""

    async def __call__(
        self, message: Message, session: AsyncSession, delivery: Delivery
    ) -> bool | dict[str, Any]:
        if delivery.desk is None:
            return False
        thread_id = message.message_thread_id if message.is_topic_message else None
        # Replies route only where there are no topics: in a forum's general topic a reply
        # (to a waiting alert, say) is staff talking among themselves.
        replied = None if message.chat.is_forum else message.reply_to_message
        if thread_id is None and replied is None:
            return False
        ticket = await delivery.desk.ticket_of_staff_message(
            session,
            message.chat.id,
            thread_id=thread_id,
            reply_to=replied.message_id if replied is not None else None,
        )
        return {"ticket": ticket} if ticket is not None else False


class InStaffChat(Filter):
    """The configured staff chat, or the id it has had since it became a supergroup (the
    desk follows a migration when a send meets it)."""

    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings, delivery: Delivery
    ) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        if message is None:
            return False
        current = delivery.desk.staff_chat_id if delivery.desk is not None else None
        return message.chat.id in (settings.staff_chat_id, current)


def create_router(settings: Settings) -> Router:
    router = Router(name="staff")
    if settings.staff_chat_id is None:
        return router
    router.message.filter(InStaffChat())
    router.callback_query.filter(InStaffChat())
    router.edited_message.filter(InStaffChat())
    staff, admin, topic = IsStaff(), IsAdmin(), InTicketTopic()

    router.message.register(remember, staff)  # first: notes the name, then goes on
    router.callback_query.register(remember, staff)
    for name, action in (
        ("take", take),
        ("resolve", resolve),
        ("close", close),
        ("reopen", reopen),
    ):
        router.message.register(action, staff, Command(name), topic)
    router.message.register(assign, staff, Command("assign"), topic)
    router.message.register(canned_menu, staff, Command("canned"), topic)
    router.message.register(canned_library, staff, Command("canned"))
    router.message.register(canned_add, admin, Command("canned_add"))
    router.message.register(canned_edit, admin, Command("canned_edit"))
    router.message.register(canned_del, admin, Command("canned_del"))
    router.message.register(admin_only, staff, Command(*CANNED_ADMIN))
    router.message.register(tickets, staff, Command("tickets"))
    router.message.register(find, staff, Command("find"))
    router.message.register(not_in_a_ticket, staff, Command(*TOPIC_COMMANDS))
    internal = F.text.startswith(NOTE_PREFIXES) | F.caption.startswith(NOTE_PREFIXES)
    router.message.register(note, staff, internal, topic)
    router.message.register(stay_internal, staff, internal)
    router.message.register(unknown_command, staff, F.text.startswith("/"), topic)
    router.message.register(to_user, staff, topic)
    router.message.register(refuse, ~staff, ~F.from_user.is_bot)

    router.callback_query.register(card_button, staff, StaffTicketCb.filter())
    router.callback_query.register(send_canned, staff, CannedCb.filter())
    router.callback_query.register(refuse_button, ~staff)
    router.edited_message.register(mirror_edit, staff)  # a text, or a media's caption
    router.startup.register(start_jobs)
    return router


async def start_jobs(bot: Bot, delivery: Delivery, lifecycle: Lifecycle) -> None:
    """Runs after the dispatcher's start-up has started `delivery`."""
    delivery.run_every("waiting-alerts", ALERT_SWEEP_SECONDS, lifecycle.alert_waiting)
    sync = partial(lifecycle.sync_topics, TelegramMessenger(bot))
    delivery.run_every("topic-status", TOPIC_SWEEP_SECONDS, sync)


async def remember(
    event: Message | CallbackQuery, session: AsyncSession, staff_directory: StaffDirectory
) -> None:
    """Keep the specialist's name and username (for /assign @name), then let others handle."""
    person = event.from_user
    if person is not None:
        await staff_directory.seen(session, Person(person.id, person.first_name, person.username))
    raise SkipHandler


async def _said(session: AsyncSession, action: str, result: Result) -> str:
    names = await StaffDirectory.labels(session, [result.ticket.taken_by])
    who = names.get(result.ticket.taken_by or 0, "")
    return views.outcome(action, result, who)


# -- in a ticket's topic -----------------------------------------------------------------------


async def take(
    message: Message, ticket: Ticket, session: AsyncSession, lifecycle: Lifecycle
) -> None:
    result = await lifecycle.take(session, ticket, _sender(message))
    await message.reply(await _said(session, "take", result))


async def resolve(
    message: Message, ticket: Ticket, session: AsyncSession, lifecycle: Lifecycle
) -> None:
    result = await lifecycle.resolve(session, ticket, _sender(message))
    await message.reply(await _said(session, "resolve", result))


async def close(
    message: Message, ticket: Ticket, session: AsyncSession, lifecycle: Lifecycle
) -> None:
    result = await lifecycle.close(session, ticket, _sender(message))
    await message.reply(await _said(session, "close", result))


async def reopen(
    message: Message, ticket: Ticket, session: AsyncSession, lifecycle: Lifecycle
) -> None:
    result = await lifecycle.reopen(session, ticket, _sender(message))
    await message.reply(await _said(session, "reopen", result))


async def assign(
    message: Message,
    command: CommandObject,
    ticket: Ticket,
    session: AsyncSession,
    lifecycle: Lifecycle,
) -> None:
    name = (command.args or "").strip().split(maxsplit=1)[0] if command.args else ""
    person = await StaffDirectory.find(session, name) if name else None
    if person is None:
        await message.reply(views.unknown_staff(name or "@…"))
        return
    result = await lifecycle.assign(session, ticket, person.id, _sender(message))
    await message.reply(await _said(session, "assign", result))


async def note(
    message: Message, ticket: Ticket, session: AsyncSession, lifecycle: Lifecycle
) -> None:
    """Internal: kept in the ticket's history, never sent to the user."""
    text = message.text or message.caption or ""
    body = text[2:] if text.startswith("//") else text.partition(" ")[2]
    await lifecycle.note(session, ticket, _sender(message), body.strip())


async def stay_internal(message: Message) -> None:
    """A note outside a ticket's topic: nothing to keep, nothing to send."""


async def unknown_command(message: Message) -> None:
    """A mistyped command is not sent to the user."""
    await message.reply(views.unknown_command())


async def to_user(
    message: Message,
    ticket: Ticket,
    session: AsyncSession,
    delivery: Delivery,
    lifecycle: Lifecycle,
) -> None:
    if delivery.desk is None:
        return
    await lifecycle.on_staff_answer(session, ticket, _sender(message))
    content = relay.content_of(message)
    desk = delivery.desk
    if await desk.relay_to_user(session, ticket, message.chat.id, message.message_id, content):
        await relay.gather_album(delivery, message.chat.id, content)


async def canned_menu(message: Message, ticket: Ticket, session: AsyncSession) -> None:
    text, markup = views.canned_menu(ticket, await CannedLibrary(session).all())
    await message.reply(text, reply_markup=markup)


async def mirror_edit(message: Message, session: AsyncSession, delivery: Delivery) -> None:
    await relay.mirror_edit(message, session, delivery)


# -- anywhere in the staff chat ----------------------------------------------------------------


async def tickets(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    view = VIEWS.get((command.args or "").strip().lower(), View.OPEN)
    found = await Lifecycle.listing(session, view, _sender(message))
    names = await StaffDirectory.labels(session, [t.taken_by for t in found])
    text = views.listing(view, found, names, settings.tz)
    await message.reply(text, link_preview_options=NO_PREVIEW)


async def find(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    query = (command.args or "").strip()
    found = await Lifecycle.find(session, query)
    names = await StaffDirectory.labels(session, [t.taken_by for t in found])
    await message.reply(
        views.found(query, found, names, settings.tz), link_preview_options=NO_PREVIEW
    )


async def not_in_a_ticket(message: Message) -> None:
    await message.reply(views.not_in_a_ticket())


async def canned_library(message: Message, session: AsyncSession) -> None:
    await message.reply(views.canned_library(await CannedLibrary(session).all()))


async def canned_add(message: Message, command: CommandObject, session: AsyncSession) -> None:
    try:
        reply = await CannedLibrary(session).add(command.args, _sender(message))
    except CannedError as error:
        await message.reply(views.canned_problem(error))
        return
    await message.reply(views.canned_saved(reply))


async def canned_edit(message: Message, command: CommandObject, session: AsyncSession) -> None:
    try:
        reply = await CannedLibrary(session).edit(command.args)
    except CannedError as error:
        await message.reply(views.canned_problem(error))
        return
    await message.reply(views.canned_saved(reply))


async def canned_del(message: Message, command: CommandObject, session: AsyncSession) -> None:
    try:
        name = await CannedLibrary(session).remove(command.args)
    except CannedError as error:
        await message.reply(views.canned_problem(error))
        return
    await message.reply(views.canned_removed(name))


async def admin_only(message: Message) -> None:
    await message.reply(views.admin_only())


async def refuse(message: Message) -> None:
    await message.reply(views.staff_only())


# -- buttons -----------------------------------------------------------------------------------


async def card_button(
    query: CallbackQuery,
    callback_data: StaffTicketCb,
    session: AsyncSession,
    lifecycle: Lifecycle,
    bot: Bot,
) -> None:
    """Take / Resolve / Close under a ticket's card. The presser hears the outcome; when it
    changed something, the whole topic does."""
    ticket = await session.get(Ticket, callback_data.id)
    actions = {"take": lifecycle.take, "resolve": lifecycle.resolve, "close": lifecycle.close}
    action = actions.get(callback_data.action)
    if ticket is None or action is None:
        return await refuse_stale(query)
    result = await action(session, ticket, query.from_user.id)
    said = await _said(session, callback_data.action, result)
    await query.answer(views.plain(said), show_alert=not result.done)
    if result.done and ticket.staff_chat_id is not None:
        card = None  # a group without topics: under the card
        if ticket.topic_id is None and ticket.card_message_id is not None:
            card = ReplyParameters(
                message_id=ticket.card_message_id, allow_sending_without_reply=True
            )
        await bot.send_message(
            ticket.staff_chat_id, said, message_thread_id=ticket.topic_id, reply_parameters=card
        )
    return None


async def send_canned(
    query: CallbackQuery,
    callback_data: CannedCb,
    session: AsyncSession,
    lifecycle: Lifecycle,
    delivery: Delivery,
) -> None:
    library = CannedLibrary(session)
    ticket = await session.get(Ticket, callback_data.ticket)
    reply = await library.get(callback_data.id)
    if ticket is None or reply is None or ticket.user_id is None:
        return await refuse_stale(query)
    await lifecycle.on_staff_answer(session, ticket, query.from_user.id)
    language, text = await library.send(reply, ticket)  # commits both
    delivery.wake()
    return await show(query, views.canned_sent(reply, language, text), None)


async def refuse_button(query: CallbackQuery) -> None:
    await query.answer(views.staff_only(), show_alert=True)


def _sender(message: Message) -> int:
    assert message.from_user is not None  # the staff filter passed: there is a sender
    return message.from_user.id
