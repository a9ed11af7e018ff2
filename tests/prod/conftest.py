"""Production fixtures: the bot in webhook mode (in this process or as `python -m bot run`
processes), a fresh PostgreSQL database, and a Redis server of the test's own to kill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from redis.asyncio import Redis

from bot.app import Resources, create_bot, create_dispatcher, create_resources
from bot.config import REPO_ROOT, Settings, load_settings
from bot.faq.content import FaqBase
from bot.faq.match import FaqMatcher
from bot.webhook import WebhookServer, webhook_url
from sandbox.server import StandIn

PUBLIC_URL = "https://ipdesk.example"  # what the bot gives setWebhook; the stand-in routes it
SECRET = "s3cret-Token_1"


@dataclass(repr=False)
class WebhookBot:
    settings: Settings
    resources: Resources
    bot: Bot
    dp: Dispatcher
    server: WebhookServer
    stand: StandIn

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.settings.webhook_path}"

    async def answered(self, within: float = 5) -> None:
        """Every update delivered and answered 200 (a reply reaches the person before the
        webhook's answer, and the per-person lock is freed after it)."""
        queue = self.stand.world.bots[self.bot.id].updates
        assert await queue.changed.wait_until(lambda: not queue.pending, within)


@pytest.fixture
async def make_webhook_app(
    stand: StandIn,
    app_backend: tuple[str, str | None, str],
    faq_index: tuple[FaqBase, FaqMatcher],
) -> AsyncIterator[Callable[..., Awaitable[WebhookBot]]]:
    """The bot in webhook mode in this process, as `python -m bot run` builds it with
    MODE=webhook; the stand-in delivers to it through a route for PUBLIC_URL."""
    database_url, redis_url, redis_prefix = app_backend
    running: list[WebhookBot] = []

    async def start(*, complaints: bool = True, **overrides: object) -> WebhookBot:
        account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
        if complaints and "staff_chat_id" not in overrides:
            overrides["staff_chat_id"] = stand.create_supergroup("staff", forum=True).id
        overrides.setdefault("database_url", database_url)
        overrides.setdefault("redis_url", redis_url)
        settings = load_settings(
            env_file=None,
            bot_token=account.token,
            telegram_api_base=stand.base_url,
            mode="webhook",
            webhook_url=PUBLIC_URL,
            webhook_secret=SECRET,
            **overrides,
        )
        resources = create_resources(settings, faq=faq_index, redis_prefix=redis_prefix)
        bot = create_bot(settings)
        dp = create_dispatcher(settings, resources)
        server = WebhookServer(settings, bot, dp, locks=resources.locks, metrics=resources.metrics)
        app = WebhookBot(settings, resources, bot, dp, server, stand)
        # The route exists before setWebhook, as a load balancer would.
        route = stand.route_webhook(webhook_url(settings), [])
        await server.start("127.0.0.1", 0)
        route.targets.append(app.local_url)
        running.append(app)
        return app

    yield start
    for app in running:
        await app.server.stop()
        await app.resources.close()
        await app.bot.session.close()


# -- PostgreSQL ---------------------------------------------------------------------------------


# -- a Redis server of the test's own -----------------------------------------------------------


class RedisServer:
    """`redis-server` on a Unix socket in the test's directory (no TCP port), no persistence:
    killing and starting it again is a Redis restart that lost everything."""

    def __init__(self, directory: Path) -> None:
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = ["--port", "0", "--unixsocket", str(self.socket), "--save", "", "--appendonly", "no"]
        self.process = await asyncio.create_subprocess_exec(
            "redis-server",
            *args,
            cwd=self.socket.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):
                try:
                    if await client.ping():
                        return
                except Exception:  # not listening yet
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise RuntimeError("redis-server did not start")

    async def kill(self) -> None:
        """SIGKILL: no goodbye, nothing kept."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None
        self.socket.unlink(missing_ok=True)


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    if not any(os.access(Path(d) / "redis-server", os.X_OK) for d in os.environ["PATH"].split(":")):
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


# -- `python -m bot run` processes --------------------------------------------------------------


def free_port() -> int:
    """A port free right now, for a child process that must be told its port in advance."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """`python -m bot run` as a child process; its JSON log lines are collected as they come."""

    env: Mapping[str, str]
    name: str = "bot"
    logs: list[dict[str, Any]] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run"),
            cwd=REPO_ROOT,
            env=dict(self.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        async with asyncio.timeout(60):
            await self.wait_for_log("bot started")

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"msg": line.decode(errors="replace").rstrip()}
            self.logs.append(entry)
            self._changed.set()

    async def wait_for_log(self, msg: str) -> dict[str, Any]:
        """The first log entry with this message, once it is there (wrap in a timeout)."""
        while True:
            for entry in self.logs:
                if entry.get("msg") == msg:
                    return entry
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited: {self.logs[-5:]}")
            self._changed.clear()
            await self._changed.wait()

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.logs if e.get("level") in ("error", "critical")]

    async def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
        return self.process.returncode or 0


@pytest.fixture
async def bot_processes() -> AsyncIterator[Callable[..., Awaitable[BotProcess]]]:
    started: list[BotProcess] = []

    async def start(name: str, **env: str) -> BotProcess:
        process = BotProcess({**os.environ, **env}, name=name)
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        await process.stop()
