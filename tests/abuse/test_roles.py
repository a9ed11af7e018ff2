"""Who may use which command where, as a table: add a row when a command is added.

Being a member of the staff chat grants nothing (conventions): a stranger there is refused and
nothing changes. Admin commands (/stats, /export, /grant, /broadcast) are not on main yet; until
they are, a non-admin gets the same answer as for any unknown command, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import dead_letters, file_ticket, settle, snapshot, unthrottled
from tests.conftest import RunningBot

STAFF_ONLY = "Действовать здесь могут только сотрудники; ничего не изменено."
ADMIN_COMMANDS = ("/stats", "/export", "/grant 100000001", "/broadcast hello")


def unknown(command: str) -> str:
    name = command.split()[0]
    return f"I don't know the command {name}. Send /help to see what I can do."


@dataclass(frozen=True)
class Row:
    command: str
    where: str  # private | topic (the ticket's topic) | general (the staff chat, no topic)
    who: str  # user | stranger (a member of the staff chat) | staff (STAFF_IDS, not an admin)
    answer: str | None  # the reply's text (its start, when it ends in "…"); None: no reply
    changes: bool = False  # may the command change stored state?


ROWS = [
    # A person in their private chat: every user command, and nothing of anybody else's.
    Row("/start", "private", "user", "Hello, Eve!…"),
    Row("/help", "private", "user", "What I can do…"),
    Row("/privacy", "private", "user", "Your data and privacy…"),
    Row("/language", "private", "user", "Choose your language:"),
    Row("/faq", "private", "user", "Questions and answers…"),
    Row("/mytickets", "private", "user", "You have no tickets yet…"),
    Row("/cancel", "private", "user", "There is nothing to cancel."),
    Row("/deleteme", "private", "user", "Delete your personal data?…"),
    Row("/close", "private", "user", unknown("/close")),
    *(Row(c, "private", "user", unknown(c)) for c in ADMIN_COMMANDS),
    Row("/complaint", "private", "user", "New complaint…", changes=True),  # a draft
    # A stranger in the staff chat, in a ticket's topic and in the general topic.
    *(
        Row(c, where, "stranger", STAFF_ONLY)
        for where in ("topic", "general")
        for c in ("/close", "/start", "/help", "// note", "/note x", "hello", *ADMIN_COMMANDS)
    ),
    # Staff who are not admins: admin commands do nothing and reach no user; in a ticket's
    # topic the bot says which commands work there (in the staff language).
    *(Row(c, "topic", "staff", "Неизвестная команда…") for c in ADMIN_COMMANDS),
    *(Row(c, "general", "staff", None) for c in ADMIN_COMMANDS),
]


@pytest.fixture
async def cast(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> dict[str, object]:
    unthrottled(desk_app)  # the table is walked faster than any person types
    owner = desk_app.stand.create_user("Owner", language_code="ru")
    ticket = await file_ticket(desk_app, owner)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    stranger = desk_app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(stranger)
    user = desk_app.stand.create_user("Eve", language_code="en")
    await user.send("hello")  # known already: a first contact stores the person
    await user.expect_message()
    return {
        "user": user,
        "stranger": stranger,
        "staff": specialist,
        "owner": owner,
        "ticket": ticket,
    }


@pytest.mark.parametrize("who", ["user", "stranger", "staff"])
async def test_commands_by_role(
    desk_app: RunningBot, staff_chat: GroupDriver, cast: dict[str, object], who: str
) -> None:
    person: UserDriver = cast[who]  # type: ignore[assignment]
    owner: UserDriver = cast["owner"]  # type: ignore[assignment]
    topic = cast["ticket"].topic_id  # type: ignore[attr-defined]
    problems = []
    for row in (r for r in ROWS if r.who == who):
        await settle(desk_app)
        before = await snapshot(desk_app)
        posts = len(desk_app.stand.delivered(staff_chat.id))
        if row.where == "private":
            await person.send(row.command)
            reply = await person.expect_message() if row.answer else None
            await person.expect_no_message(within=0.1)
        else:
            thread = topic if row.where == "topic" else None
            sent = await person.send(row.command, chat=staff_chat, thread_id=thread)
            await settle(desk_app)
            replies = [
                m
                for m in desk_app.stand.delivered(staff_chat.id)[posts:]
                if (m.get("reply_to_message") or {}).get("message_id") == sent["message_id"]
            ]
            reply = replies[0] if replies else None
            if len(desk_app.stand.delivered(staff_chat.id)) != posts + len(replies):
                problems.append(f"{row}: the bot posted something else in the staff chat")
        await settle(desk_app)
        text = reply["text"] if reply else None
        expected = row.answer
        if expected is not None and expected.endswith("…"):
            ok = text is not None and text.startswith(expected[:-1])
        else:
            ok = text == expected
        if not ok:
            problems.append(f"{row}: answered {text!r}")
        if not row.changes and await snapshot(desk_app) != before:
            problems.append(f"{row}: stored state changed")
        await owner.expect_no_message(within=0.05)
    assert problems == []
    assert await dead_letters(desk_app) == []


ODD_COMMANDS = {
    "/": "I don't know the command /…",
    "/START": "I don't know the command /START…",
    "/start@other_bot": "I don't know the command /start@other_bot…",
    "/start@ipdesk_bot": "Hello, Eve!…",
    "/help@ipdesk_bot extra words": "What I can do…",
    "/комплейнт": "I don't know the command /комплейнт…",
    "/" + "a" * 200: "I don't know the command /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.…",
    "/complaint@ipdesk_bot": "New complaint…",
}


async def test_odd_commands_get_one_answer_each(app: RunningBot) -> None:
    unthrottled(app)
    user = app.stand.create_user("Eve", language_code="en")
    for command, answer in ODD_COMMANDS.items():
        await user.send(command)
        reply = await user.expect_message()
        assert reply["text"].startswith(answer.rstrip("…")), (command, reply["text"])
        await user.expect_no_message(within=0.1)
    assert await dead_letters(app) == []
