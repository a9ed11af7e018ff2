"""`python -m sandbox`: run the stand-in with the bot as a child process, or chat with it.

python -m sandbox [run] [--host H] [--port P]
python -m sandbox chat [--user NAME] [--lang CODE] [--chat staff] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from sandbox.driver import GroupDriver, UserDriver
from sandbox.render import buttons, render_message
from sandbox.server import StandIn
from sandbox.state import BotAccount

DEFAULT_PORT = 8080
STAFF_CHAT_TITLE = "ipdesk staff"
CHAT_HELP = (
    "Type to send. /commands pass through. !press N presses button [N] of the last bot "
    "message, !photo PATH sends a picture, !lang xx switches your language, !quit leaves."
)


# -- run ----------------------------------------------------------------------------------------


@dataclass
class Demo:
    """What `run` sets up: the bot, the staff forum, its admin and a demo user."""

    bot: BotAccount
    staff: GroupDriver
    admin: UserDriver
    user: UserDriver


def build_demo(stand: StandIn) -> Demo:
    bot = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    staff = stand.create_supergroup(STAFF_CHAT_TITLE, forum=True)
    admin = stand.create_user("Admin", language_code="ru", username="ipdesk_admin")
    staff.add_member(admin, status="administrator")
    user = stand.create_user("Demo", language_code="en", username="demo_user")
    for person in (admin, user):  # both have talked to the bot before, so it may write first
        person.private_chat(bot).started = True
    return Demo(bot, staff, admin, user)


def child_env(demo: Demo, base_url: str) -> dict[str, str]:
    """The bot's environment: the parent's, pointed at the stand-in."""
    return {
        **os.environ,
        "BOT_TOKEN": demo.bot.token,
        "TELEGRAM_API_BASE": base_url,
        "STAFF_CHAT_ID": str(demo.staff.id),
        "STAFF_IDS": str(demo.admin.id),
        "ADMIN_IDS": str(demo.admin.id),
    }


def _python() -> str:
    """How to call this interpreter from the current folder (e.g. `.venv/bin/python`)."""
    try:
        relative = os.path.relpath(sys.executable)
    except ValueError:
        return sys.executable
    return relative if not relative.startswith("..") else sys.executable


def instructions(demo: Demo, base_url: str) -> str:
    here = f"--url {base_url}" if not base_url.endswith(f":{DEFAULT_PORT}") else ""
    chat = f"{_python()} -m sandbox chat"
    return "\n".join(
        [
            f"ipdesk sandbox: open {base_url}/ in a browser",
            "  (a person's chat, the staff forum and an admin side by side).",
            "",
            f"Telegram Bot API stand-in on {base_url} (bot @{demo.bot.username}).",
            f"Staff forum {STAFF_CHAT_TITLE!r} ({demo.staff.id}), admin: Admin ({demo.admin.id}).",
            "",
            "Or talk to the bot from another terminal:",
            f"  {chat} {here}".rstrip() + "           # as Demo",
            f"  {chat} --user Admin --chat staff {here}".rstrip() + "  # staff",
            f"  {chat} --user Minji --lang ko {here}".rstrip() + "  # a new person",
            "Ctrl-C stops the bot and the stand-in.",
        ]
    )


async def run(host: str, port: int, command: Sequence[str]) -> int:
    stand = StandIn()
    try:
        base_url = await stand.start(host, port)
    except OSError as exc:
        await stand.stop()
        print(
            f"Cannot serve the sandbox on {host}:{port} ({exc.strerror}); "
            "stop what uses that port or choose another with SANDBOX_PORT=8090.",
            file=sys.stderr,
        )
        return 1
    demo = build_demo(stand)
    child = await asyncio.create_subprocess_exec(*command, env=child_env(demo, base_url))
    print(instructions(demo, base_url), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def forward(sig: signal.Signals) -> None:
        stopping.set()
        if child.returncode is None:
            child.send_signal(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, forward, sig)
    try:
        code = await child.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await stand.stop()
    if not stopping.is_set():
        print(f"The bot exited on its own with code {code}; stopping.", file=sys.stderr)
        return code or 1
    if stand.violations:
        print(f"{len(stand.violations)} Bot API spec violations, e.g.:", file=sys.stderr)
        print("  " + "\n  ".join(stand.violations[:5]), file=sys.stderr)
    return 0


# -- chat ---------------------------------------------------------------------------------------


class ControlClient:
    """The control API over HTTP."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.api = f"{base_url.rstrip('/')}/sandbox/api"

    async def call(self, verb: str, path: str, body: Any = None, **query: Any) -> Any:
        """The `result` of a control API call (a JSON value), or RuntimeError."""
        async with self.session.request(
            verb, f"{self.api}/{path}", json=body, params=query or None
        ) as response:
            data = await response.json()
        if not data.get("ok"):
            raise RuntimeError(data.get("error", "control API error"))
        return data["result"]


class TerminalChat:
    def __init__(self, client: ControlClient, user: dict[str, Any], chat_id: int) -> None:
        self.client = client
        self.user = user
        self.chat_id = chat_id
        self.ansi = sys.stdout.isatty()
        self.last: dict[str, Any] | None = None

    async def follow(self, after: int) -> None:
        """Print the bot's messages, edits and toasts in this chat as they happen."""
        while True:
            batch = await self.client.call("GET", "events", after=after, timeout=25)
            after = batch["last"]
            for event in batch["events"]:
                self.show(event)

    def show(self, event: dict[str, Any]) -> None:
        if event["chat_id"] != self.chat_id or not event["from_bot"]:
            return
        message = event.get("message") or {}
        if event["kind"] == "message":
            self.last = message
            print(f"\n{render_message(message, ansi=self.ansi)}", flush=True)
        elif event["kind"] == "edit":
            self.last = message if buttons(message) else self.last
            print(f"\n(edited) {render_message(message, ansi=self.ansi)}", flush=True)
        elif event["kind"] == "callback_answer" and event.get("text"):
            kind = "alert" if event.get("show_alert") else "toast"
            print(f"\n[{kind}] {event['text']}", flush=True)

    async def handle(self, line: str) -> bool:
        """Act on one input line; False to quit."""
        command, _, argument = line.strip().partition(" ")
        if command == "!quit":
            return False
        if command == "!help":
            print(CHAT_HELP)
        elif command == "!press":
            await self.press(argument)
        elif command == "!photo":
            await self.photo(argument.strip())
        elif command == "!lang":
            self.user = await self.client.call(
                "PATCH", f"users/{self.user['id']}", {"language_code": argument.strip()}
            )
            print(f"(language_code is now {argument.strip() or 'unset'})")
        elif line.strip():
            await self.client.call("POST", "send", self.target({"text": line.rstrip("\n")}))
        return True

    def target(self, body: dict[str, Any]) -> dict[str, Any]:
        body["user_id"] = self.user["id"]
        if self.chat_id < 0:
            body["chat_id"] = self.chat_id
        return body

    async def press(self, argument: str) -> None:
        if self.last is None:
            print("(no bot message with buttons yet)")
            return
        if not argument.strip().isdigit():
            print("(usage: !press N)")
            return
        body = self.target({"message_id": self.last["message_id"], "index": int(argument)})
        body["chat_id"] = self.chat_id
        try:
            await self.client.call("POST", "press", body)
        except RuntimeError as exc:
            print(f"({exc})")

    async def photo(self, path: str) -> None:
        try:
            data = await asyncio.to_thread(_read_file, path)
        except OSError as exc:
            print(f"(can't read {path}: {exc.strerror})")
            return
        encoded = base64.b64encode(data).decode()
        await self.client.call("POST", "photo", self.target({"data": encoded}))


async def _find_or_create_user(
    client: ControlClient, name: str, language: str | None
) -> dict[str, Any]:
    state = await client.call("GET", "state")
    user: dict[str, Any]
    for user in state["users"]:
        if user["first_name"].lower() == name.lower():
            if language is not None:
                user = await client.call(
                    "PATCH", f"users/{user['id']}", {"language_code": language}
                )
            return user
    user = await client.call(
        "POST", "users", {"first_name": name, "language_code": language or "en"}
    )
    return user


async def _chat_id(client: ControlClient, user: dict[str, Any], chat: str | None) -> int:
    if chat is None:
        return int(user["id"])
    state = await client.call("GET", "state")
    for candidate in state["chats"]:
        if chat.lstrip("-").isdigit() and candidate["id"] == int(chat):
            return int(candidate["id"])
        if chat.lower() in (candidate.get("title") or "").lower():
            return int(candidate["id"])
    raise SystemExit(f"no chat matching {chat!r}")


async def chat(url: str, name: str, language: str | None, chat_name: str | None) -> int:
    async with aiohttp.ClientSession() as session:
        client = ControlClient(session, url)
        try:
            user = await _find_or_create_user(client, name, language)
            chat_id = await _chat_id(client, user, chat_name)
            state = await client.call("GET", "state")
        except aiohttp.ClientConnectionError:
            print(f"No stand-in at {url}; start it with: python -m sandbox", file=sys.stderr)
            return 1
        terminal = TerminalChat(client, user, chat_id)
        print(f"You are {user['first_name']} ({user['id']}). {CHAT_HELP}")
        follower = asyncio.create_task(terminal.follow(state["last_event"]))
        try:
            while await terminal.handle(await _read_line()):
                pass
        except EOFError:
            pass
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
    return 0


def _read_file(path: str) -> bytes:
    return Path(path).expanduser().read_bytes()


async def _read_line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        raise EOFError
    return line


# -- entry point --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    run_parser = commands.add_parser("run", help="start the stand-in and the bot (default)")
    run_parser.add_argument("--host", default="127.0.0.1")
    run_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SANDBOX_PORT", DEFAULT_PORT))
    )
    run_parser.add_argument(
        "--bot-command",
        default=None,
        help="the child to start instead of `python -m bot run` (for testing)",
    )
    chat_parser = commands.add_parser("chat", help="chat with the bot from this terminal")
    chat_parser.add_argument("--user", default="Demo", help="who you are (created if new)")
    chat_parser.add_argument("--lang", default=None, help="your language_code (kk, ru, ko, en)")
    chat_parser.add_argument("--chat", default=None, help="a group by title or id (else private)")
    chat_parser.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', DEFAULT_PORT)}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "run")
    args = build_parser().parse_args(args_list)
    if args.command == "chat":
        return asyncio.run(chat(args.url, args.user, args.lang, args.chat))
    command = (
        shlex.split(args.bot_command) if args.bot_command else [sys.executable, "-m", "bot", "run"]
    )
    return asyncio.run(run(args.host, args.port, command))
