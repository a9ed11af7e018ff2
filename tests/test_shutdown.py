"""Graceful shutdown: intake stops, updates in flight finish, the process exits cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable

from bot.config import REPO_ROOT
from bot.migrate import upgrade
from sandbox.server import StandIn
from tests.conftest import RunningBot
from tests.helpers import unconfirmed


async def test_an_update_in_flight_finishes_before_shutdown(
    make_app: Callable[[], Awaitable[RunningBot]], slow_help: tuple[asyncio.Event, asyncio.Event]
) -> None:
    entered, release = slow_help
    app = await make_app()
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    await asyncio.wait_for(entered.wait(), 5)

    stopping = asyncio.create_task(app.dp.stop_polling())  # what SIGTERM does
    await asyncio.sleep(0.3)
    assert not app.polling.done(), "shutdown did not wait for the update in flight"
    assert unconfirmed(app), "confirmed before it was handled"
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert app.polling.done()
    assert (await user.expect_message())["text"] == "finished"
    assert app.resources.tracker.in_flight == 0
    assert unconfirmed(app) == []  # confirmed once handled: the next start does not redo it


async def test_sigterm_stops_the_process_cleanly(stand: StandIn, sqlite_url: str) -> None:
    account = stand.create_bot()
    await asyncio.to_thread(upgrade, sqlite_url)
    env = {
        **os.environ,
        "BOT_TOKEN": account.token,
        "TELEGRAM_API_BASE": stand.base_url,
        "DATABASE_URL": sqlite_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        user = stand.create_user("Jane", language_code="en")
        await user.send("/start")
        reply = await user.expect_message(timeout=30)
        assert reply["text"].startswith("Hello, Jane!")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    assert '"msg": "bot stopped"' in log
    assert account.token not in log, "the bot token leaked into the log"
