"""'Ask our staff' under an FAQ answer, through the stand-in: the question to staff remembers
the entry it came from — in the draft, on the summary, on the ticket and on the staff card."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Draft, Ticket
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import eventually, tr, visible


async def draft_of(app: RunningBot, user: UserDriver) -> Draft | None:
    async with app.resources.sessionmaker() as session:
        return await session.scalar(select(Draft).where(Draft.user_id == user.id))


async def ask_about(app: RunningBot, user: UserDriver, entry_id: str) -> dict:
    """Open the entry by its deep link, press 'Ask our staff', answer every question; the
    summary screen."""
    lang = user.language_code or "en"
    i18n = app.resources.i18n
    await user.send(f"/start faq-{entry_id}")
    answer = await user.expect_message()
    await user.press(answer, tr(i18n, lang, "💬 Ask our staff"))
    rights = await user.expect_edit()
    assert rights["text"] == tr(i18n, lang, "Which right is concerned?")
    await user.press(rights, callback_data="c:choose:right:trademark")
    registration = await user.expect_edit()
    await user.press(registration, callback_data="c:skip:registration:")
    await user.expect_edit()
    for text in (
        "Our application in Astana",
        "How much does renewal cost for 5 classes?",
        "ACME Korea",
        "legal@acme.example",
    ):
        await user.send(text)
        await user.expect_message()
    evidence = app.stand.chat_messages(user.chat_id)[-1]
    await user.press(evidence, callback_data="c:skip:evidence:")
    consent = await user.expect_edit()
    await user.press(consent, callback_data="c:consent:consent:")
    return await user.expect_edit()


async def test_the_question_carries_its_faq_topic_to_the_staff_card(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    app, faq, i18n = desk_app, desk_app.resources.faq, desk_app.resources.i18n
    entry = faq.find("trademark-fees")
    assert entry is not None
    user = app.stand.create_user("민지", language_code="ko")

    summary = await ask_about(app, user, entry.id)
    draft = await draft_of(app, user)
    assert draft is not None and (draft.kind, draft.faq_entry_id) == ("procedure", entry.id)
    topic_line = tr(i18n, "ko", "{kind}\n<b>FAQ topic:</b> {topic}").format(
        kind=tr(i18n, "ko", "Registration or procedure question"), topic=entry.text("ko").title
    )
    assert visible(topic_line) in summary["text"]  # the title in the reader's language

    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()

    async def probe() -> Ticket | None:
        async with app.resources.sessionmaker() as session:
            return await session.scalar(select(Ticket).where(Ticket.user_id == user.id))

    ticket = await eventually(probe, lambda t: t is not None and t.topic_id is not None)
    assert ticket is not None and ticket.faq_entry_id == entry.id
    card = await staff_chat.expect_message(thread_id=ticket.topic_id)
    staff = app.settings.staff_language  # ru by default
    assert card["text"].startswith(f"🆕 {ticket.number}")
    staff_line = tr(i18n, staff, "{kind}\n<b>FAQ topic:</b> {topic}").format(
        kind=tr(i18n, staff, "Registration or procedure question"),
        topic=entry.text(staff).title,
    )
    assert visible(staff_line) in card["text"]  # the title in the staff language


async def test_an_unfinished_question_takes_the_entry_read_last(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    i18n = app.resources.i18n
    await user.send("/start faq-trademark-fees")
    answer = await user.expect_message()
    await user.press(answer, tr(i18n, "en", "💬 Ask our staff"))
    rights = await user.expect_edit()
    await user.press(rights, callback_data="c:choose:right:trademark")
    await user.expect_edit()
    first = await draft_of(app, user)
    assert first is not None and first.faq_entry_id == "trademark-fees"

    await user.send("/start faq-customs-register")  # reads on, then asks again
    answer = await user.expect_message()
    await user.press(answer, tr(i18n, "en", "💬 Ask our staff"))
    resumed = await user.expect_edit()
    assert resumed["text"].startswith("If the right is registered")  # where it was left
    again = await draft_of(app, user)
    assert again is not None and again.id == first.id
    assert (again.right, again.faq_entry_id) == ("trademark", "customs-register")


async def test_asking_from_not_sure_has_no_topic(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("what will the weather be like in Almaty tomorrow?")
    reply = await user.expect_message()
    await user.press(reply, "💬 Ask our staff")
    question = await user.expect_edit()
    assert question["text"] == "Which right is concerned?"
    draft = await draft_of(app, user)
    assert draft is not None and (draft.kind, draft.faq_entry_id) == ("procedure", None)
