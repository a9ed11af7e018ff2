"""What the web chat draws, checked in Chromium against the stand-in alone (the test plays the
bot over the Bot API): Telegram's HTML subset and nothing else, keyboards and their answers,
photos, albums and files both ways, edits, deletions, reactions, typing, forum topics with
unread counts, and the phone layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.browser.conftest import DESKTOP, PHONE, picture
from tests.browser.sandbox_page import SandboxPage, expect

pytestmark = pytest.mark.timeout(300)

SNEAKY_NAME = '<img src=x onerror="window.hacked=1">'
FORMATTED = (
    "<b>bold</b> <i>italic</i> <u>under</u> <s>struck</s> <tg-spoiler>secret</tg-spoiler> "
    '<code>code</code> <a href="https://example.kz/x">link</a>\n'
    '<pre><code class="language-python">print(1)</code></pre>'
    "<blockquote>quoted</blockquote>&lt;script&gt;window.hacked=1&lt;/script&gt;"
)


class BotApi:
    """The test as the bot: Bot API calls over HTTP, and its updates in order."""

    def __init__(self, http: aiohttp.ClientSession, stand: StandIn, account: BotAccount) -> None:
        self.http = http
        self.stand = stand
        self.account = account
        self.offset = 0

    async def __call__(self, method: str, **params: Any) -> Any:
        url = f"{self.stand.base_url}/bot{self.account.token}/{method}"
        async with self.http.post(url, json=params) as response:
            body = await response.json()
        assert body["ok"], f"{method}: {body}"
        return body["result"]

    async def updates(self, count: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while len(got) < count:
            batch = await self("getUpdates", offset=self.offset, timeout=10, limit=count - len(got))
            assert batch, f"only {len(got)} of {count} updates arrived"
            got += batch
            self.offset = batch[-1]["update_id"] + 1
        return got

    async def download(self, file_id: str) -> bytes:
        file = await self("getFile", file_id=file_id)
        url = f"{self.stand.base_url}/file/bot{self.account.token}/{file['file_path']}"
        async with self.http.get(url) as response:
            return await response.read()


async def test_what_telegram_renders_and_nothing_more(
    stand: StandIn, open_page: Any, tmp_path: Path
) -> None:
    account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    forum = stand.create_supergroup("IP desk", forum=True)
    person = stand.create_user(SNEAKY_NAME, language_code="kk")
    staff = stand.create_user("Aigul", language_code="ru")
    forum.add_member(staff, status="administrator")
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.write_bytes(picture(360, 240))
    second.write_bytes(picture(240, 360))
    notes = tmp_path / "notes.txt"
    notes.write_text("Сатушының мекенжайы", encoding="utf-8")

    async with aiohttp.ClientSession() as http:
        bot = BotApi(http, stand, account)
        page, steps = await open_page(f"{stand.base_url}/", DESKTOP)
        sandbox = SandboxPage(page)
        user = sandbox.pane("user")

        # What a person types is shown as typed: their name and text are never markup.
        await expect(user.locator("select.actor option:checked")).to_have_text(
            f"{SNEAKY_NAME} (kk)"
        )
        typed = "<b>not bold</b> & <i>сәлем</i>"
        await sandbox.type("user", typed)
        [update] = await bot.updates(1)
        assert update["message"]["text"] == typed
        mine = sandbox.my_messages("user").last
        await expect(mine.locator(".text")).to_contain_text(typed)
        assert await mine.locator(".text b, .text i").count() == 0

        # The bot's HTML arrives as entities and is drawn as such.
        keyboard = [
            [{"text": "Press me", "callback_data": "press"}],
            [{"text": "Site", "url": "https://example.kz/"}],
        ]
        sent = await bot(
            "sendMessage",
            chat_id=person.id,
            text=FORMATTED,
            parse_mode="HTML",
            reply_markup={"inline_keyboard": keyboard},
        )
        bubble = sandbox.bot_messages("user").last
        text = bubble.locator(".text")
        for selector, shown in (
            ("b", "bold"),
            ("i", "italic"),
            ("u", "under"),
            ("s", "struck"),
            (".spoiler", "secret"),
            (":scope > code", "code"),
            ('pre code[data-language="python"]', "print(1)"),
            ('a[href="https://example.kz/x"]', "link"),
            ("blockquote", "quoted"),
        ):
            await expect(text.locator(selector)).to_have_text(shown)
        await expect(text).to_contain_text("<script>window.hacked=1</script>")
        assert await page.locator(".messages script, .messages img[src='x']").count() == 0
        await text.locator(".spoiler").click()
        await expect(text.locator(".spoiler")).to_have_class("spoiler revealed")
        await expect(bubble.locator('.kb a[href="https://example.kz/"]')).to_have_text("Site ↗")
        await steps.shot("formatting-and-keyboard")

        # A button press is a callback query; its answer shows as a toast.
        await sandbox.press("user", "press", "Press me")
        [update] = await bot.updates(1)
        query = update["callback_query"]
        assert (query["data"], query["from"]["id"]) == ("press", person.id)
        await bot("answerCallbackQuery", callback_query_id=query["id"], text="Қабылданды ✓")
        await expect(user.locator(".toast")).to_have_text("Қабылданды ✓")
        await steps.shot("callback-answer")

        # Edits, reactions and typing.
        await bot(
            "editMessageText", chat_id=person.id, message_id=sent["message_id"], text="Edited"
        )
        await expect(bubble.locator(".text")).to_contain_text("Edited")
        await expect(bubble.locator(".meta")).to_contain_text("edited")
        await expect(bubble.locator(".kb")).to_have_count(0)  # an edit without markup drops it
        await bot(
            "setMessageReaction",
            chat_id=person.id,
            message_id=update_message_id(stand, person.id, typed),
            reaction=[{"type": "emoji", "emoji": "👍"}],
        )
        await expect(mine.locator(".reaction")).to_have_text("👍")
        await bot("sendChatAction", chat_id=person.id, action="typing")
        await expect(user.locator(".chat-head .sub")).to_have_text("typing…")
        await steps.shot("edit-reaction-typing")

        # Photos as an album, and a file, from the browser; the bot downloads what was sent.
        await sandbox.attach("user", first, second)
        await user.locator("textarea").fill("Дәлел")
        await sandbox.send("user")
        album = sandbox.my_messages("user").last
        await expect(album.locator(".media.n2 img")).to_have_count(2)
        await expect(album.locator(".text")).to_contain_text("Дәлел")
        items = [u["message"] for u in await bot.updates(2)]
        assert items[0]["media_group_id"] == items[1]["media_group_id"]
        assert items[0]["caption"] == "Дәлел"
        assert await bot.download(items[0]["photo"][-1]["file_id"]) == first.read_bytes()
        await sandbox.attach("user", notes, as_file=True)
        await sandbox.send("user")
        await expect(sandbox.my_messages("user").last.locator(".fname")).to_have_text("notes.txt")
        [update] = await bot.updates(1)
        document = update["message"]["document"]
        assert await bot.download(document["file_id"]) == notes.read_bytes()
        await steps.shot("album-and-file-sent")

        # The bot sends an album back, then deletes its edited message.
        photos = [{"type": "photo", "media": m["photo"][-1]["file_id"]} for m in items]
        await bot("sendMediaGroup", chat_id=person.id, media=photos)
        await expect(sandbox.bot_messages("user").last.locator(".media.n2 img")).to_have_count(2)
        count = await sandbox.bot_messages("user").count()
        await bot("deleteMessage", chat_id=person.id, message_id=sent["message_id"])
        await expect(sandbox.bot_messages("user")).to_have_count(count - 1)
        await expect(user.locator(".messages")).not_to_contain_text("Edited")
        await steps.shot("album-back-and-a-deletion")

        # Forum topics with unread counts; staff write in a topic.
        topic = await bot("createForumTopic", chat_id=forum.id, name="IP-2026-000007 · ACME")
        thread = topic["message_thread_id"]
        for line in ("🆕 IP-2026-000007", "<b>Түрі:</b> контрафакт"):
            await bot(
                "sendMessage",
                chat_id=forum.id,
                message_thread_id=thread,
                text=line,
                parse_mode="HTML",
            )
        entry = sandbox.topic(thread)
        await expect(entry.locator(".badge")).to_have_text("2")
        await expect(entry.locator(".last")).to_contain_text("Түрі: контрафакт")
        await steps.shot("a-topic-with-unread-messages")
        await entry.click()
        await expect(entry.locator(".badge")).to_be_hidden()
        await expect(sandbox.pane("staff").locator(".service")).to_contain_text(
            "Topic “IP-2026-000007 · ACME” created"
        )
        await sandbox.type("staff", "Қабылдадым")
        [update] = await bot.updates(1)
        message = update["message"]
        assert (message["message_thread_id"], message["from"]["id"]) == (thread, staff.id)
        await bot("closeForumTopic", chat_id=forum.id, message_thread_id=thread)
        await expect(entry.locator(".name")).to_have_text("🔒 IP-2026-000007 · ACME")
        await steps.shot("staff-answer-in-the-topic")

        # On a phone one role shows at a time; a tab counts what arrived elsewhere.
        await page.set_viewport_size(PHONE)
        await sandbox.show("staff")
        await bot("sendMessage", chat_id=person.id, text="Жаңа хабар")
        await expect(page.locator('.tabs [data-tab="user"] .badge')).to_have_text("1")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the page scrolls sideways on a phone"
        await steps.shot("phone-staff-tab")
        await sandbox.show("user")
        await expect(page.locator('.tabs [data-tab="user"] .badge')).to_be_hidden()
        await expect(sandbox.bot_messages("user").last).to_contain_text("Жаңа хабар")
        await steps.shot("phone-person-tab")
        assert await page.evaluate("window.hacked") is None


def update_message_id(stand: StandIn, chat_id: int, text: str) -> int:
    return next(m["message_id"] for m in stand.chat_messages(chat_id) if m.get("text") == text)
