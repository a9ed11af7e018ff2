"""The bot in a real browser: a Korean complaint with a photo reaches staff and their reply
comes back; a Kazakh question typed on a phone gets its answer. Screenshots of every step go to
test-output/browser/<test>/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import RelayedMessage, Ticket, TicketAttachment
from handlers import faq_views, intake_views, ticket_views
from sandbox.driver import GroupDriver, UserDriver
from tests.browser.conftest import DESKTOP, PHONE, picture
from tests.browser.sandbox_page import SandboxPage, expect
from tests.conftest import RunningBot
from tests.helpers import eventually, render, tr

pytestmark = pytest.mark.timeout(300)

ANSWERS = {
    "location": "알마티 바라홀카 시장 3열",
    "description": "5월부터 저희 로고가 붙은 가짜 휴대폰을 팔고 있습니다.",
    "company": "ACME 코리아",
    "contact": "legal@acme.example",
}
STAFF_REPLY = "자료 감사합니다. 판매자를 확인한 뒤 이 대화방에서 다시 연락드리겠습니다."


async def ticket_of(app: RunningBot, user_id: int) -> Ticket | None:
    async with app.resources.sessionmaker() as session:
        return await session.scalar(select(Ticket).where(Ticket.user_id == user_id))


async def test_a_korean_complaint_with_a_photo_reaches_staff_and_the_reply_comes_back(
    desk_app: RunningBot,
    staff_chat: GroupDriver,
    specialist: UserDriver,
    open_page: Any,
    tmp_path: Path,
) -> None:
    i18n = desk_app.resources.i18n

    def ko(msgid: str) -> str:
        return tr(i18n, "ko", msgid)

    page, steps = await open_page(f"{desk_app.stand.base_url}/", DESKTOP)
    sandbox = SandboxPage(page)
    await steps.shot("the-sandbox")

    # A rights holder's representative from Korea opens the bot.
    await sandbox.new_person("Minji", "ko")
    menu = await sandbox.say("user", "/start")
    await expect(menu.locator(".kb button").first).to_have_text(ko("📚 Questions and answers"))
    await steps.shot("korean-main-menu")
    await sandbox.press_label("user", ko("📝 File a complaint"))

    # The complaint dialog, one answer at a time, in Korean.
    await sandbox.press("user", "c:choose:kind:counterfeit", ko("Counterfeit goods"))
    await sandbox.press("user", "c:choose:right:trademark", ko("Trademark"))
    await steps.shot("kind-and-right-chosen")
    await sandbox.press("user", "c:skip:registration:")
    for answer in ANSWERS.values():
        await sandbox.say("user", answer)
    await steps.shot("answers-typed")

    # Evidence: a photo chosen in the browser's file dialog.
    photo = tmp_path / "counterfeit.png"
    photo.write_bytes(picture())
    await sandbox.attach("user", photo)
    await steps.shot("photo-attached")
    before = await sandbox.bot_messages("user").count()
    await sandbox.send("user")
    await expect(sandbox.my_messages("user").last.locator("img")).to_be_visible()
    await expect(sandbox.bot_messages("user")).to_have_count(before + 1)
    received = render(i18n, "ko", intake_views.file_received, 1)
    await expect(sandbox.bot_messages("user").last).to_contain_text(received)
    await steps.shot("photo-received")
    await sandbox.press("user", "c:skip:evidence:", ko("Done"))
    await sandbox.press("user", "c:consent:consent:")
    await expect(sandbox.bot_messages("user").last).to_contain_text(ANSWERS["company"])
    await steps.shot("summary")
    await sandbox.press("user", "c:confirm::", ko("✅ Send"))
    receipt = sandbox.bot_messages("user").last
    await expect(receipt).to_contain_text(re.compile(r"IP-\d{4}-\d{6}"))
    await steps.shot("receipt")

    minji = _user_id(desk_app, "Minji")
    ticket = await eventually(
        lambda: ticket_of(desk_app, minji), lambda t: t is not None and t.topic_id is not None
    )
    assert ticket is not None and ticket.topic_id is not None
    assert ticket.language == "ko" and ticket.company == ANSWERS["company"]
    await expect(receipt).to_contain_text(ticket.number)
    async with desk_app.resources.sessionmaker() as session:
        attachments = list(await session.scalars(select(TicketAttachment)))
    assert len(attachments) == 1

    # Staff see a new topic with unread messages: the ticket card and the photo.
    topic = sandbox.topic(ticket.topic_id)
    await expect(topic).to_contain_text(ticket.number)
    await expect(topic.locator(".badge")).to_have_text("2")
    await steps.shot("staff-see-a-new-topic")
    await topic.click()
    await expect(topic.locator(".badge")).to_be_hidden()
    staff_view = sandbox.pane("staff").locator(".messages")
    await expect(staff_view.locator(".msg.in").first).to_contain_text(f"🆕 {ticket.number}")
    await expect(staff_view.locator(".msg.in img")).to_be_visible()
    await steps.shot("staff-open-the-topic")

    # The specialist takes the ticket with the card's button; Minji hears someone is on it.
    await sandbox.press("staff", f"st:take:{ticket.id}", tr(i18n, "ru", "🙋 Take"))
    await expect(sandbox.bot_messages("user").last).to_contain_text(
        render(i18n, "ko", ticket_views.taken, ticket)
    )
    taken = await eventually(lambda: ticket_of(desk_app, minji), lambda t: t.status != "new")
    assert taken is not None and (taken.status, taken.taken_by) == ("in_progress", specialist.id)
    await steps.shot("staff-take-the-ticket")

    # The specialist answers in the topic; the answer reaches Minji as the bot's message.
    await sandbox.type("staff", STAFF_REPLY)
    await expect(sandbox.my_messages("staff").last).to_contain_text(STAFF_REPLY)
    reply = sandbox.bot_messages("user").last
    await expect(reply).to_contain_text(STAFF_REPLY)
    await expect(reply.locator(".sender")).to_have_count(0)  # a copy: no staff name shown
    await expect(sandbox.my_messages("staff").last.locator(".reaction")).to_have_text("👌")
    await steps.shot("the-reply-reaches-minji")

    # The specialist marks it resolved; Minji rates the help and staff see the rating.
    await sandbox.type("staff", "/resolve")
    await sandbox.press("user", f"rt:{ticket.id}:5", "5 ⭐")
    await expect(sandbox.bot_messages("user").last).to_contain_text(
        render(i18n, "ko", lambda: ticket_views.rated(5)[0])
    )
    await expect(staff_view.locator(".msg.in").last).to_contain_text("5")
    rated = await eventually(lambda: ticket_of(desk_app, minji), lambda t: t.csat_score is not None)
    assert rated is not None and (rated.status, rated.csat_score) == ("resolved", 5)
    await steps.shot("minji-rates-the-help")

    # The admin's side: the Bot API log shows every call the bot made, and no spec violation.
    log = sandbox.pane("admin").locator(".inspector")
    await log.locator("summary").click()
    await expect(log.locator("summary")).to_contain_text("0 spec violations")
    await expect(log.locator("tr", has_text="copyMessage").first).to_be_visible()
    await steps.shot("the-whole-desk")  # docs/sandbox.png is a copy of this one

    assert STAFF_REPLY in [m.get("text") for m in desk_app.stand.delivered(minji)]
    async with desk_app.resources.sessionmaker() as session:
        relays = list(await session.scalars(select(RelayedMessage)))
    assert [(r.direction, r.status) for r in relays] == [("to_user", "delivered")]


async def test_a_kazakh_question_typed_on_a_phone_gets_its_answer(
    app: RunningBot, open_page: Any
) -> None:
    page, steps = await open_page(f"{app.stand.base_url}/", PHONE)
    sandbox = SandboxPage(page)
    await steps.shot("the-sandbox-on-a-phone")
    await sandbox.new_person("Aruzhan", "kk")
    await steps.shot("a-kazakh-person")
    question = "тауар белгісін қалай тіркеймін"
    box = sandbox.pane("user").locator("textarea")
    await box.fill(question)
    await steps.shot("question-typed")
    await box.press("Enter")
    answer = sandbox.bot_messages("user").last
    entry = app.resources.faq.find("trademark-register")
    assert entry is not None
    await expect(answer).to_contain_text(entry.text("kk").title)
    i18n = app.resources.i18n
    with i18n.context(), i18n.use_locale("kk"):
        expected = faq_views.entry_text(entry, "kk")
    shown = await answer.locator(".text").inner_text()
    assert render(i18n, "kk", lambda: expected).split("\n")[0] in shown
    await expect(sandbox.my_messages("user").last).to_have_text(re.compile(question))
    await steps.shot("the-answer")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


def _user_id(app: RunningBot, name: str) -> int:
    return next(u.id for u in app.stand.world.users.values() if u.first_name == name)
