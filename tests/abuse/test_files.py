"""File limits: bots may download only 20 MB (getFile). The bot never downloads evidence: it
keeps file ids and copies the user's messages, which works at any size."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.intake import MAX_ATTACHMENTS
from db.models import DraftAttachment, TicketAttachment
from sandbox.driver import GroupDriver
from tests.abuse.support import count, dead_letters, settle, to_step
from tests.conftest import RunningBot
from tests.helpers import eventually, tr
from tests.test_intake_dialog import PNG

MB = 1024 * 1024
BIG = b"%PDF-1.7\n" + b"\x00" * (25 * MB)  # over the 20 MB a bot may download


async def test_an_oversized_document_is_taken_as_evidence_and_reaches_staff(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Aizhan", language_code="kk")
    await to_step(desk_app, user, "evidence")
    await user.send_document(BIG, "contract.pdf", "application/pdf", caption="the contract")
    answer = await user.expect_message()
    expected = tr(
        desk_app.resources.i18n,
        "kk",
        "File received ({count} in total). Send more, or press Done.",
    ).format(count=1)
    assert answer["text"] == expected
    await user.press(answer, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(), callback_data="c:consent:consent:")
    await user.press(await user.expect_edit(), callback_data="c:confirm::")
    await user.expect_edit()

    async def copied() -> list[dict]:
        return [m for m in desk_app.stand.delivered(staff_chat.id) if "document" in m]

    [evidence] = await eventually(copied, lambda found: len(found) == 1)
    assert evidence["document"]["file_size"] == len(BIG)
    assert evidence["caption"] == "the contract"
    assert desk_app.stand.bot_requests("getFile") == []  # never downloaded
    async with desk_app.resources.sessionmaker() as session:
        [part] = list(await session.scalars(select(TicketAttachment)))
    assert part.kind == "document"
    assert await dead_letters(desk_app) == []


async def test_one_file_too_many_gets_a_translated_hint(app: RunningBot) -> None:
    user = app.stand.create_user("Ivan", language_code="ru")
    await to_step(app, user, "evidence")
    for _ in range(MAX_ATTACHMENTS):
        await user.send_photo(PNG)
    await user.send_document(b"%PDF", "one-more.pdf", "application/pdf")
    await settle(app)
    last = app.stand.delivered(user.chat_id)[-1]
    assert last["text"] == tr(
        app.resources.i18n,
        "ru",
        "That is the most files one complaint can hold. Press Done to continue.",
    )
    assert await count(app, DraftAttachment) == MAX_ATTACHMENTS
    assert await dead_letters(app) == []
