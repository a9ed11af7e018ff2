"""The sandbox web chat as a person uses it: panes, people, typing, buttons, attachments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from playwright.async_api import Locator, Page, expect
except ImportError:  # the `browser` fixture skips (or fails) with the reason
    Locator = Page = Any  # type: ignore[misc,assignment]


class SandboxPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def pane(self, name: str) -> Locator:
        """`user` (a person's chat), `staff` (the forum) or `admin`."""
        return self.page.locator(f'[data-pane="{name}"]')

    async def show(self, name: str) -> None:
        """Bring a pane forward (on a phone only one shows at a time)."""
        tab = self.page.locator(f'.tabs [data-tab="{name}"]')
        if await tab.is_visible():
            await tab.click()
        await expect(self.pane(name)).to_be_visible()

    async def new_person(self, name: str, language: str) -> None:
        pane = self.pane("user")
        await pane.locator(".new-person").click()
        form = pane.locator(".person-form")
        await form.locator("input[name=name]").fill(name)
        await form.locator("select[name=lang]").select_option(language)
        await form.locator("button[type=submit]").click()
        selected = pane.locator("select.actor option:checked")
        await expect(selected).to_have_text(f"{name} ({language})")

    def bot_messages(self, pane: str) -> Locator:
        return self.pane(pane).locator(".messages .msg.in")

    def my_messages(self, pane: str) -> Locator:
        return self.pane(pane).locator(".messages .msg.out")

    async def type(self, pane: str, text: str) -> None:
        box = self.pane(pane).locator("textarea")
        await box.fill(text)
        await box.press("Enter")

    async def say(self, pane: str, text: str) -> Locator:
        """Type and send; returns the bot's next message once it is shown."""
        before = await self.bot_messages(pane).count()
        await self.type(pane, text)
        await expect(self.bot_messages(pane)).to_have_count(before + 1)
        return self.bot_messages(pane).last

    def button(self, pane: str, callback_data: str) -> Locator:
        return self.pane(pane).locator(f'.kb button[data-callback="{callback_data}"]').last

    async def press(self, pane: str, callback_data: str, label: str | None = None) -> None:
        button = self.button(pane, callback_data)
        await expect(button).to_be_visible()
        if label is not None:
            await expect(button).to_have_text(label)
        await button.click()

    async def press_label(self, pane: str, label: str) -> None:
        button = self.pane(pane).locator(".kb button", has_text=label).last
        await expect(button).to_be_visible()
        await button.click()

    async def attach(self, pane: str, *files: Path, as_file: bool = False) -> None:
        """Choose files in the attach dialog (they wait in the bar above the composer)."""
        view = self.pane(pane)
        await view.locator("input[type=file]").set_input_files([str(f) for f in files])
        await expect(view.locator(".attach-bar")).to_be_visible()
        if as_file:
            await view.locator(".as-file").check()

    async def send(self, pane: str) -> None:
        await self.pane(pane).locator(".composer .send").click()

    def topic(self, thread_id: int | None) -> Locator:
        return self.pane("staff").locator(f'.topic[data-thread="{thread_id or ""}"]')
