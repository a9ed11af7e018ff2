"""Broadcasts through the stand-in: composed in four languages, previewed, sent to everyone who
opted in (once each, a blocked user marked, 429s waited out), paused, resumed, cancelled,
unsubscribed from; news consent asked once."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, update

from bot.languages import LANGUAGES
from db.models import AuditEntry, Broadcast, BroadcastRecipient, User
from handlers.admin_views import BroadcastCb
from sandbox.driver import UserDriver
from tests.conftest import RunningBot
from tests.helpers import buttons, eventually, tr, visible

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TEXTS = {
    "kk": "Кеден тізілімі жаңартылды",
    "ru": "Таможенный реестр обновлён",
    "ko": "세관 등록부가 업데이트되었습니다",
    "en": "The customs register has been updated",
}

MakeApp = Callable[..., Awaitable[RunningBot]]


def cb(action: str, value: str = "", id: int = 0) -> str:
    return BroadcastCb(action=action, id=id, value=value).pack()


async def person(app: RunningBot, name: str, lang: str, *, news: bool | None = True) -> UserDriver:
    """Someone who has written to the bot and answered the news question (`news`)."""
    user = app.stand.create_user(name, language_code=lang)
    await user.send("/start")
    await user.expect_message()
    async with app.resources.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user.id).values(news_opt_in=news))
        await session.commit()
    return user


async def admin_of(make_app: MakeApp, stand, **settings: object) -> tuple[RunningBot, UserDriver]:  # type: ignore[no-untyped-def]
    boss = stand.create_user("Boss", language_code="en")
    app = await make_app(admin_ids=str(boss.id), **settings)
    await boss.send("/start")
    await boss.expect_message()
    return app, boss


async def compose(boss: UserDriver, texts: dict[str, str] | str) -> dict:
    """/broadcast through to the audience menu; returns it."""
    await boss.send("/broadcast")
    menu = await boss.expect_message()
    await boss.press(menu, callback_data=cb("mode", "one" if isinstance(texts, str) else "per"))
    await boss.expect_edit()
    for text in [texts] if isinstance(texts, str) else [texts[lang] for lang in LANGUAGES]:
        await boss.send(text)
        reply = await boss.expect_message()
    return reply


async def start_broadcast(boss: UserDriver, texts: dict[str, str] | str) -> dict:
    """Compose, send to everyone who agreed, confirm; the progress message."""
    audience = await compose(boss, texts)
    await boss.press(audience, callback_data=cb("audience", "all"))
    previews = 1 if isinstance(texts, str) else 2 * len(LANGUAGES)
    *_shown, confirm = await boss.expect_messages(previews + 1)
    await boss.press(confirm, callback_data=cb("send"))
    await boss.expect_edit()
    return confirm


async def job(app: RunningBot) -> Broadcast:
    async with app.resources.sessionmaker() as session:
        found = await session.scalar(select(Broadcast).order_by(Broadcast.id.desc()))
    assert found is not None
    return found


async def finished(app: RunningBot, within: float = 15.0) -> Broadcast:
    async def probe() -> Broadcast:
        return await job(app)

    return await eventually(probe, lambda j: j.status in ("done", "cancelled"), within=within)


def received(app: RunningBot, user: UserDriver) -> list[dict]:
    return app.stand.delivered(user.chat_id)


def current(app: RunningBot, chat_id: int, message_id: int) -> dict:
    return next(m for m in app.stand.chat_messages(chat_id) if m["message_id"] == message_id)


async def test_a_four_language_broadcast_reaches_everyone_who_agreed_once(
    make_app: MakeApp, stand
) -> None:  # type: ignore[no-untyped-def]
    app, boss = await admin_of(make_app, stand)
    people = {lang: [await person(app, f"{lang}{i}", lang) for i in range(2)] for lang in LANGUAGES}
    declined = await person(app, "Declined", "en", news=False)
    never_asked = await person(app, "Quiet", "ru", news=None)
    blocker = people["ru"][1]
    blocker.block_bot()
    flooded = [people["kk"][0], people["ko"][1]]
    for user in flooded:
        stand.faults.flood("sendMessage", retry_after=1, chat_id=user.id)
    before = {u.id: len(received(app, u)) for group in people.values() for u in group}

    audience = await compose(boss, TEXTS)
    assert visible(audience["text"]).endswith("agreed to receive announcements get them: 8 now.")
    await boss.press(audience, callback_data=cb("audience", "all"))
    shown = await boss.expect_messages(2 * len(LANGUAGES) + 1)
    i18n = app.resources.i18n
    pairs = zip(shown[0:-1:2], shown[1::2], strict=True)
    for lang, (header, preview) in zip(LANGUAGES, pairs, strict=True):
        assert header["text"].startswith("👇")
        assert preview["text"] == TEXTS[lang]
        assert buttons(preview) == [tr(i18n, lang, "🔕 Unsubscribe")]
    confirm = shown[-1]
    assert "Recipients: 8 (kk 2, ru 2, ko 2, en 2)." in visible(confirm["text"])
    await boss.press(confirm, callback_data=cb("send"))
    await boss.expect_edit()

    done = await finished(app)
    assert done.status == "done" and done.total == 8
    for lang, group in people.items():
        for user in group:
            got = received(app, user)[before[user.id] :]
            if user is blocker:
                assert got == []
                continue
            assert [m["text"] for m in got] == [TEXTS[lang]], (lang, user.id)
            assert buttons(got[0]) == [tr(i18n, lang, "🔕 Unsubscribe")]
    assert all(m["text"] not in TEXTS.values() for m in received(app, declined))
    assert all(m["text"] not in TEXTS.values() for m in received(app, never_asked))
    for user, lang in zip(flooded, ("kk", "ko"), strict=True):  # 429 honoured, then sent
        tries = [
            r
            for r in stand.bot_requests("sendMessage", chat_id=user.id)
            if r.params.get("text") == TEXTS[lang]
        ]
        assert [r.fault for r in tries] == ["429 before", None]
        assert tries[1].at - tries[0].at >= 0.95

    async with app.resources.sessionmaker() as session:
        rows = list(await session.scalars(select(BroadcastRecipient)))
        marked = await session.get(User, blocker.id)
        audit = list(await session.scalars(select(AuditEntry)))
    assert sorted(r.status for r in rows) == ["blocked"] + ["sent"] * 7
    assert marked is not None and marked.blocked_at is not None
    assert [(a.actor_id, a.action, a.target) for a in audit] == [
        (boss.id, "broadcast.start", f"broadcast:{done.id}")
    ]
    assert json.loads(audit[0].details or "{}")["recipients"] == 8

    async def progress() -> str:
        return visible(current(app, boss.chat_id, confirm["message_id"])["text"])

    final = await eventually(progress, lambda t: ": done" in t)
    assert f"Announcement #{done.id}: done" in final
    assert "Sent: 7 of 8" in final and "Blocked the bot: 1" in final and "Left: 0" in final


async def test_pause_resume_and_cancel(make_app: MakeApp, stand) -> None:  # type: ignore[no-untyped-def]
    app, boss = await admin_of(make_app, stand, broadcast_rate=4)
    people = [await person(app, f"P{i}", "en") for i in range(16)]
    progress = await start_broadcast(boss, "Office hours change on Friday")
    broadcast = await job(app)

    def count() -> int:
        text = "Office hours change on Friday"
        return sum(1 for u in people for m in received(app, u) if m["text"] == text)

    async def sent() -> int:
        return count()

    await eventually(sent, lambda n: n >= 2)
    await boss.press(progress, callback_data=cb("pause", id=broadcast.id))
    assert await boss.expect_callback_answer() == "Paused."
    paused_at = await eventually(sent, lambda n: False, within=0.6)  # in flight lands
    assert (await job(app)).status == "paused"
    await eventually(sent, lambda n: False, within=1.5)
    assert count() == paused_at  # nothing goes out while paused
    shown = visible(current(app, boss.chat_id, progress["message_id"])["text"])
    assert f"Announcement #{broadcast.id}: paused" in shown
    assert buttons(current(app, boss.chat_id, progress["message_id"])) == [
        "▶️ Resume",
        "⏹ Cancel the broadcast",
    ]

    await boss.press(progress, callback_data=cb("resume", id=broadcast.id))
    assert await boss.expect_callback_answer() == "Resumed."
    await eventually(sent, lambda n: n >= paused_at + 2)

    await boss.press(progress, callback_data=cb("stop", id=broadcast.id))
    assert await boss.expect_callback_answer() == "Cancelled: nothing more will be sent."
    stopped_at = await eventually(sent, lambda n: False, within=0.6)
    await eventually(sent, lambda n: False, within=1.0)
    assert count() == stopped_at < len(people)
    async with app.resources.sessionmaker() as session:
        statuses = list(await session.scalars(select(BroadcastRecipient.status)))
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert statuses.count("sent") == stopped_at
    assert statuses.count("cancelled") == len(people) - stopped_at
    assert actions == [
        "broadcast.start",
        "broadcast.pause",
        "broadcast.resume",
        "broadcast.cancel",
    ]
    final = visible(current(app, boss.chat_id, progress["message_id"])["text"])
    assert f"Announcement #{broadcast.id}: cancelled" in final
    assert f"Not sent (cancelled): {len(people) - stopped_at}" in final
    assert buttons(current(app, boss.chat_id, progress["message_id"])) == []
    # The controls are gone for good: an old button is refused.
    await boss.press(progress, forged=cb("resume", id=broadcast.id))
    assert (await boss.expect_callback_answer() or "").startswith("This button is no longer")


async def test_unsubscribe_under_an_announcement(make_app: MakeApp, stand) -> None:  # type: ignore[no-untyped-def]
    app, boss = await admin_of(make_app, stand)
    leaver = await person(app, "Leaver", "ru")
    stayer = await person(app, "Stayer", "kk")
    await start_broadcast(boss, "First news")
    await finished(app)
    [news] = [m for m in received(app, leaver) if m["text"] == "First news"]
    assert buttons(news) == ["🔕 Отписаться"]
    await leaver.press(news, "🔕 Отписаться")
    assert await leaver.expect_callback_answer() == "Вы больше не будете получать объявления."
    await leaver.expect_edit()
    assert buttons(current(app, leaver.chat_id, news["message_id"])) == ["🔔 Подписаться снова"]
    async with app.resources.sessionmaker() as session:
        assert (await session.get(User, leaver.id)).news_opt_in is False  # type: ignore[union-attr]

    await start_broadcast(boss, "Second news")
    await finished(app)
    assert [m["text"] for m in received(app, stayer) if "news" in m["text"]] == [
        "First news",
        "Second news",
    ]
    assert [m["text"] for m in received(app, leaver) if "news" in m["text"]] == ["First news"]


async def test_news_consent_is_asked_once_and_changed_in_settings(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-customs-register")
    answer = await user.expect_message()
    await user.press(answer, "👍 Helpful")
    await user.expect_callback_answer()
    question = await user.expect_message()
    assert question["text"].startswith("Would you like to receive our announcements")
    await user.press(question, "✅ Yes, send me announcements")
    assert (await user.expect_edit())["text"].startswith("Done: you will receive")
    await user.press(answer, "👍 Helpful")
    await user.expect_callback_answer()
    await user.expect_no_message(within=0.5)  # asked once only

    await user.send("/settings")
    screen = await user.expect_message()
    assert visible(screen["text"]).endswith("Announcements: on")
    await user.press(screen, "🔕 Stop announcements")
    assert visible((await user.expect_edit())["text"]).endswith("Announcements: off")
    async with app.resources.sessionmaker() as session:
        stored = await session.get(User, user.id)
    assert stored is not None and stored.news_opt_in is False and stored.news_asked_at


@pytest.mark.parametrize("audience", ["langs", "kind"])
async def test_a_narrower_audience(make_app: MakeApp, stand, audience: str) -> None:  # type: ignore[no-untyped-def]
    app, boss = await admin_of(make_app, stand)
    kk = await person(app, "Aru", "kk")
    ko = await person(app, "Minji", "ko")
    menu = await compose(boss, "Only some")
    await boss.press(menu, callback_data=cb("audience", audience))
    choice = await boss.expect_edit()
    if audience == "langs":
        await boss.press(choice, callback_data=cb("lang", "done"))
        assert await boss.expect_callback_answer() == "Choose at least one language."
        await boss.press(choice, callback_data=cb("lang", "ko"))
        await boss.press(await boss.expect_edit(), callback_data=cb("lang", "done"))
        _preview, confirm = await boss.expect_messages(2)
        assert "Recipients: 1 (ko 1)." in visible(confirm["text"])
    else:  # nobody has filed a ticket: nobody to send to
        await boss.press(choice, callback_data=cb("kind", "counterfeit"))
        _preview, confirm = await boss.expect_messages(2)
        assert visible(confirm["text"]).startswith("Nobody in this audience has agreed")
        assert cb("send") not in json.dumps(confirm.get("reply_markup"))
        return
    await boss.press(confirm, callback_data=cb("send"))
    await finished(app)
    assert [m["text"] for m in received(app, ko) if m["text"] == "Only some"] == ["Only some"]
    assert all(m["text"] != "Only some" for m in received(app, kk))


async def test_a_photo_with_its_caption(make_app: MakeApp, stand) -> None:  # type: ignore[no-untyped-def]
    app, boss = await admin_of(make_app, stand)
    aru = await person(app, "Aru", "kk")
    await boss.send("/broadcast")
    menu = await boss.expect_message()
    await boss.press(menu, callback_data=cb("mode", "one"))
    await boss.expect_edit()
    await boss.send_photo(PNG, caption="The new customs form")
    audience = await boss.expect_message()
    await boss.press(audience, callback_data=cb("audience", "all"))
    preview, confirm = await boss.expect_messages(2)
    assert "photo" in preview and preview["caption"] == "The new customs form"
    assert buttons(preview) == ["🔕 Unsubscribe"]
    await boss.press(confirm, callback_data=cb("send"))
    await finished(app)
    [got] = [m for m in received(app, aru) if "photo" in m]
    assert got["caption"] == "The new customs form"
    assert got["photo"][-1]["file_unique_id"] == preview["photo"][-1]["file_unique_id"]
    assert buttons(got) == ["🔕 Жазылымнан шығу"]
