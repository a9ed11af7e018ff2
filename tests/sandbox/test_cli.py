"""`python -m sandbox run` with a stand-in child, the control API and the terminal chat."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from sandbox.cli import ControlClient, TerminalChat
from sandbox.render import render_message, render_text
from sandbox.server import StandIn
from tests.sandbox.conftest import Api
from tests.sandbox.test_http import PNG_1x1

REPO = Path(__file__).resolve().parents[2]
CHILD = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGINT, lambda *_: sys.exit(0))\n"
    "keys = ('BOT_TOKEN', 'TELEGRAM_API_BASE', 'STAFF_CHAT_ID', 'STAFF_IDS', 'ADMIN_IDS')\n"
    "print('child', *(bool(os.environ.get(k)) for k in keys), flush=True)\n"
    "time.sleep(30)\n"
)


async def start_run(child: str, tmp_path: Path) -> asyncio.subprocess.Process:
    script = tmp_path / "child.py"
    script.write_text(child)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "run",
        "--port",
        "0",
        "--bot-command",
        f"{sys.executable} {script}",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(stream: asyncio.StreamReader, marker: bytes) -> bytes:
    seen = b""
    async with asyncio.timeout(15):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line
    return seen


async def test_run_starts_the_child_and_forwards_ctrl_c(tmp_path: Path) -> None:
    process = await start_run(CHILD, tmp_path)
    assert process.stdout is not None
    out = await read_until(process.stdout, b"child")
    assert b"Telegram Bot API stand-in on http://127.0.0.1:" in out
    assert re.search(rb"open http://127\.0\.0\.1:\d+/ in a browser", out)
    assert b"python -m sandbox chat" in out
    assert b"child True True True True True" in out
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 15) == 0


async def test_run_says_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox",
            "run",
            "--port",
            str(port),
            "--bot-command",
            f"{sys.executable} -c pass",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 1
    assert f"Cannot serve the sandbox on 127.0.0.1:{port}".encode() in err
    assert b"SANDBOX_PORT" in err


async def test_run_fails_when_the_child_dies(tmp_path: Path) -> None:
    process = await start_run("import sys; sys.exit(3)", tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 3
    assert b"The bot exited on its own with code 3" in err


async def test_control_api_round_trip(stand: StandIn, api: Api) -> None:
    async with aiohttp.ClientSession() as session:
        client = ControlClient(session, stand.base_url)
        user = await client.call("POST", "users", {"first_name": "Minji", "language_code": "ko"})
        waiting = asyncio.create_task(client.call("GET", "events", after=0, timeout=5))
        sent = await client.call("POST", "send", {"user_id": user["id"], "text": "/start"})
        assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        events = await waiting
        assert [e["kind"] for e in events["events"]] == ["message"]
        keyboard = {"inline_keyboard": [[{"text": "한국어", "callback_data": "lang:ko"}]]}
        _, body = await api(
            "sendMessage", json={"chat_id": user["id"], "text": "언어?", "reply_markup": keyboard}
        )
        press = {"user_id": user["id"], "message_id": body["result"]["message_id"], "index": 1}
        query = await client.call("POST", "press", press)
        assert query["data"] == "lang:ko"
        state = await client.call("GET", "state")
        assert [u["first_name"] for u in state["users"]] == ["Minji"]
        with pytest.raises(RuntimeError, match="no user"):
            await client.call("POST", "send", {"user_id": 1, "text": "x"})


async def test_terminal_chat(
    stand: StandIn, api: Api, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    person = stand.create_user("Demo")
    async with aiohttp.ClientSession() as session:
        client = ControlClient(session, stand.base_url)
        chat = TerminalChat(client, person.user.to_api(), person.id)
        assert await chat.handle("/start\n")
        keyboard = {"inline_keyboard": [[{"text": "FAQ", "callback_data": "faq"}]]}
        await api(
            "sendMessage",
            json={
                "chat_id": person.id,
                "text": "<b>Hello</b>",
                "parse_mode": "HTML",
                "reply_markup": keyboard,
            },
        )
        await person.expect_message()
        for event in (await client.call("GET", "events", after=0))["events"]:
            chat.show(event)
        assert await chat.handle("!press 1")
        picture = tmp_path / "p.png"
        picture.write_bytes(PNG_1x1)
        assert await chat.handle(f"!photo {picture}")
        assert await chat.handle("!lang kk")
        assert not await chat.handle("!quit")
    out = capsys.readouterr().out
    assert "Hello\n  [1] FAQ" in out
    assert stand.world.users[person.id].language_code == "kk"
    assert [m.get("text") for m in stand.chat_messages(person.id)][:1] == ["/start"]
    assert "photo" in stand.chat_messages(person.id)[-1]


def test_render_with_ansi_and_links() -> None:
    entities = [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.kz"},
    ]
    assert render_text("😀 site", entities, ansi=False) == "😀 site (https://x.kz)"
    assert render_text("😀 site", entities, ansi=True).startswith("\033[1m😀\033[0m")
    keyboard = {"inline_keyboard": [[{"text": "A", "url": "https://a"}]]}
    message = {"caption": "c", "photo": [], "reply_markup": keyboard}
    assert render_message(message, ansi=False) == "<photo> c\n  [1] A -> https://a"
