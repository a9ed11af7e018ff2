"""Property-based: random updates (odd Unicode, commands, every kind of message, forwards,
edits, random callback data) from random people in random chats, through the real dispatcher
and the stand-in. Whatever they are:

* nothing raises (no dead letter) and the bot's requests meet the Bot API spec;
* a refused action changes nothing: the ticket owner, whose chat is never touched, keeps her
  ticket, relays and settings, and hears nothing;
* nobody gets a message meant for someone else: the bot writes only to the private chat of the
  person who acted, and in the staff chat only to answer the stranger who posted there.

One bot runs for all examples (fixtures are per test, not per example).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from db.models import Draft, FaqFeedback, RelayedMessage, Ticket, User
from sandbox.driver import CONTENT_SAMPLES, GroupDriver, UserDriver
from tests.abuse.support import dead_letters, file_ticket, settle, unthrottled
from tests.conftest import RunningBot
from tests.helpers import tr
from tests.test_intake_dialog import PNG

EXAMPLES = 50
SPECIAL_TEXTS = [
    "<b>x</b>",
    "</code>&amp;<",
    "\u200b\u200b\u200b",
    "\u202eACME",
    "😀" * 20,
    "👨‍👩‍👧",
    "ㅤ",
    "how do I register a trademark",
    "Здравствуйте",
    "상표 등록은 어떻게 하나요?",
    "Сауда белгісін қалай тіркеймін?",
]
COMMANDS = [
    "/start",
    "/help",
    "/privacy",
    "/language",
    "/faq",
    "/mytickets",
    "/cancel",
    "/complaint",
    "/deleteme",
    "/close",
    "/note",
    "//",
    "/stats",
    "/start faq-trademark-fees",
    "/x",
]
CALLBACK_PARTS = [
    "m", "l", "del", "fq", "fa", "fv", "fs", "sl", "c", "t",
    "home", "help", "privacy", "faq", "lang", "complaint", "kk", "ru", "ko", "en", "xx",
    "0", "1", "-1", "true", "confirm", "choose", "skip", "consent", "edit", "field", "cancel",
    "kind", "right", "registration", "location", "evidence", "counterfeit", "trademark",
    "leave", "open", "{ticket}", "basics", "about-committee", "contacts", "",
]  # fmt: skip
FILE_KINDS = ["photo", "document", "video", "voice", "audio", "animation", "sticker"]


def fits_callback(data: str) -> bool:
    return 0 < len(data.encode()) <= 64


texts = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=120),
    st.sampled_from(SPECIAL_TEXTS),
    st.sampled_from(COMMANDS),
    st.builds("{} {}".format, st.sampled_from(COMMANDS), st.text(max_size=20)),
).filter(lambda text: text.strip() != "")
callback_data = st.one_of(
    st.text(max_size=64).filter(fits_callback),
    st.lists(
        st.one_of(
            st.sampled_from(CALLBACK_PARTS),
            st.integers(-(10**20), 10**20).map(str),
            st.text(max_size=6),
        ),
        min_size=1,
        max_size=4,
    ).map(":".join),
).filter(lambda data: fits_callback(data.replace("{ticket}", "1")))


@dataclass(frozen=True)
class Action:
    actor: str  # anon (a person in private) | stranger (in the staff chat) | lurker (a group)
    kind: str  # text | content | file | forward | edit | press
    text: str
    data: str
    content: str
    file: str


actions = st.builds(
    Action,
    actor=st.sampled_from(["anon", "anon", "stranger", "lurker"]),
    kind=st.sampled_from(["text", "text", "content", "file", "forward", "edit", "press"]),
    text=texts,
    data=callback_data,
    content=st.sampled_from(list(CONTENT_SAMPLES)),
    file=st.sampled_from(FILE_KINDS),
)


class World:
    """The running bot and its cast. Not a dataclass: Hypothesis prints a failing example's
    arguments, and would print a dataclass (the whole bot) field by field."""

    def __init__(self, app: RunningBot, staff_chat: GroupDriver, owner: UserDriver) -> None:
        self.app, self.staff_chat, self.owner = app, staff_chat, owner
        self.ticket: Ticket
        self.anon: UserDriver
        self.stranger: UserDriver
        self.kept: GroupDriver  # a group staff added the bot to: it stays, and keeps quiet
        self.foreign: GroupDriver  # a group a stranger added the bot to: it has left

    def __repr__(self) -> str:
        return "World()"


async def owner_state(world: World) -> tuple:
    async with world.app.resources.sessionmaker() as session:
        owner = await session.get(User, world.owner.id)
        ticket = await session.get(Ticket, world.ticket.id)
        relays = await session.scalars(
            select(RelayedMessage).where(RelayedMessage.ticket_id == world.ticket.id)
        )
        return (
            (owner.language, owner.active_ticket_id) if owner else None,
            (ticket.status, ticket.closed_at, ticket.topic_id, ticket.user_id) if ticket else None,
            sorted((r.direction, r.source_message_id) for r in relays),
        )


async def anons_topics(world: World) -> set[int]:
    async with world.app.resources.sessionmaker() as session:
        found = await session.scalars(
            select(Ticket.topic_id).where(Ticket.user_id == world.anon.id)
        )
        return {t for t in found if t is not None}


async def act(world: World, action: Action) -> None:
    app, where = world.app, {}
    if action.actor == "anon":
        person = world.anon
    elif action.actor == "stranger":
        person = world.stranger
        where = {"chat": world.staff_chat, "thread_id": world.ticket.topic_id}
    else:
        person = world.stranger
        where = {"chat": world.kept if action.text[:1] != "/" else world.foreign}
    if action.actor == "lurker" and where["chat"] is world.foreign:
        return  # the bot left: nothing to deliver (checked once, in the fixture's test)
    if action.kind == "text":
        await person.send(action.text, **where)
    elif action.kind == "content":
        await person.send_content(action.content, **where)
    elif action.kind == "file":
        await person.send_file(action.file, PNG, **where)
    elif action.kind == "forward":
        await person.send_forwarded(action.text, origin=world.owner, **where)
    elif action.kind == "edit":
        mine = [
            m
            for m in app.stand.chat_messages(where["chat"].id if where else person.chat_id)
            if m.get("from", {}).get("id") == person.id and "text" in m
        ]
        if mine:
            await person.edit(mine[-1], action.text)
    else:
        chat_id = where["chat"].id if where else person.chat_id
        bots = [m for m in app.stand.chat_messages(chat_id) if m.get("from", {}).get("is_bot")]
        bots = [m for m in bots if "forum_topic_created" not in m]
        if bots:
            data = action.data.replace("{ticket}", str(world.ticket.id))
            await person.press(bots[-1], forged=data)


async def check(world: World, run: list[Action]) -> None:
    app = world.app
    before = await owner_state(world)
    since = len(app.stand.world.events.events)
    owner_heard = len(app.stand.delivered(world.owner.chat_id))
    posted: set[int] = set()
    for action in run:
        await act(world, action)
    await settle(app)
    for event in app.stand.world.events.events[since:]:
        if not event.from_bot and event.chat_id == world.staff_chat.id and event.message:
            posted.add(event.message["message_id"])
    assert await dead_letters(app) == [], run
    assert app.stand.violations == [], run
    assert await owner_state(world) == before, run
    assert len(app.stand.delivered(world.owner.chat_id)) == owner_heard, run
    allowed_topics = await anons_topics(world)
    for event in app.stand.world.events.events[since:]:
        if not event.from_bot or event.message is None or "forum_topic_created" in event.message:
            continue
        if event.chat_id in (world.anon.chat_id, world.stranger.chat_id):
            continue  # a person's own private chat
        if event.chat_id == world.staff_chat.id:
            replied = (event.message.get("reply_to_message") or {}).get("message_id")
            assert replied in posted or event.thread_id in allowed_topics, (run, event)
            continue
        raise AssertionError(f"the bot wrote to chat {event.chat_id}: {event.message} ({run})")


@pytest.fixture
async def world(desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver) -> World:
    """One bot for all examples: an owner with a ticket, a person in private, a stranger in
    the staff chat, a group staff added the bot to, and a stranger's group it has left."""
    app = desk_app
    unthrottled(app)  # hypothesis acts faster than any person; flood control has its own tests
    world = World(app, staff_chat, app.stand.create_user("Owner", language_code="kk"))
    world.ticket = await file_ticket(app, world.owner)
    await staff_chat.expect_message(thread_id=world.ticket.topic_id)
    world.anon = app.stand.create_user("Anon", language_code="ru")
    world.stranger = app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(world.stranger)
    account = app.stand.world.bots[app.bot.id]
    world.kept = app.stand.create_supergroup("kept", bots=[])
    world.kept.add_member(specialist, status="creator")
    world.kept.add_member(world.stranger)
    world.kept.invite_bot(account, by=specialist, status="administrator")
    world.foreign = app.stand.create_supergroup("foreign", bots=[])
    world.foreign.add_member(world.stranger, status="creator")
    world.foreign.invite_bot(account, by=world.stranger)
    await settle(app)
    assert world.foreign.chat.status_of(account.id).value == "left"
    return world


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=st.lists(actions, min_size=1, max_size=6))
async def test_random_updates_keep_the_invariants(world: World, run: list[Action]) -> None:
    await check(world, run)


STALE = "This button is no longer valid. Please open the menu again: /start"


async def person_state(world: World, person: UserDriver) -> tuple:
    async with world.app.resources.sessionmaker() as session:
        user = await session.get(User, person.id)
        drafts = await session.scalars(select(Draft).where(Draft.user_id == person.id))
        votes = await session.scalars(select(FaqFeedback).where(FaqFeedback.user_id == person.id))
        tickets = await session.scalars(select(Ticket).where(Ticket.user_id == person.id))
        return (
            (user.language, user.active_ticket_id) if user else None,
            sorted((d.id, d.step, d.kind, d.right, d.location, d.submitted_at) for d in drafts),
            sorted((v.entry_id, v.helpful) for v in votes),
            sorted((t.id, t.status) for t in tickets),
        )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=callback_data, screen=st.sampled_from(["/start", "/complaint", "/mytickets", "/faq"]))
async def test_a_refused_button_changes_nothing(world: World, data: str, screen: str) -> None:
    """The owner herself presses random data under her own screens: when the answer is the
    stale-button refusal, nothing of hers has changed."""
    app, owner = world.app, world.owner
    await owner.send(screen)
    await settle(app)
    before = await person_state(world, owner)
    shown = [m for m in app.stand.chat_messages(owner.chat_id) if m.get("from", {}).get("is_bot")]
    await owner.press(shown[-1], forged=data.replace("{ticket}", str(world.ticket.id)))
    toast = await owner.expect_callback_answer()
    await settle(app)
    if toast == tr(app.resources.i18n, "kk", STALE):
        assert await person_state(world, owner) == before, data
    assert await dead_letters(app) == [], data
    assert app.stand.violations == [], data
    if await person_state(world, owner) != before:  # accepted: leave her as she was
        await owner.send("/cancel")
        await settle(app)
