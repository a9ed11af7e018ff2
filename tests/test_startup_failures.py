"""`python -m bot run` and `migrate` that cannot get going say so in one line naming the setting
to look at (`bot.failures`), never with a traceback or a secret."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from sandbox.server import StandIn

pytestmark = pytest.mark.own_backend  # each brings its own database: once, in the SQLite pass


async def bot(command: str, **env: str) -> tuple[int, list[str]]:
    """Exit status and the lines of stderr that are not the JSON log."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", command),
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if not line.startswith("{")]
    assert process.returncode is not None
    return process.returncode, lines


async def test_a_database_without_its_tables_says_run_migrate(
    stand: StandIn, tmp_path: Path
) -> None:
    account = stand.create_bot()
    code, said = await bot(
        "run",
        BOT_TOKEN=account.token,
        TELEGRAM_API_BASE=stand.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}",
    )
    assert (code, said) == (
        1,
        [
            "the bot stopped: the database has no tables yet: run `python -m bot migrate` "
            "first (DATABASE_URL)"
        ],
    )


async def test_a_token_telegram_refuses_and_a_taken_port(stand: StandIn, tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'ipdesk.db'}"
    assert await bot("migrate", DATABASE_URL=database) == (0, [])
    code, said = await bot(
        "run", BOT_TOKEN="123456:NotKnownHere", TELEGRAM_API_BASE=stand.base_url,
        DATABASE_URL=database,
    )  # fmt: skip
    assert code == 1
    assert said == [
        "the bot stopped: Telegram refused the bot token (BOT_TOKEN): check it with @BotFather"
    ]

    account = stand.create_bot()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, said = await bot(
            "run",
            BOT_TOKEN=account.token,
            TELEGRAM_API_BASE=stand.base_url,
            DATABASE_URL=database,
            MODE="webhook",
            WEBHOOK_URL="https://ipdesk.example",
            WEBHOOK_SECRET="s3cret",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(taken.getsockname()[1]),
        )
    assert code == 1 and len(said) == 1
    assert said[0].startswith("the bot stopped: a port is taken (WEBHOOK_PORT, HEALTH_PORT")
    assert account.token.split(":")[1] not in said[0]


async def test_migrate_against_an_unreachable_database() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once it closes
    code, said = await bot(
        "migrate", DATABASE_URL=f"postgresql+asyncpg://ipdesk:hunter2@127.0.0.1:{port}/ipdesk"
    )
    assert code == 1 and len(said) == 1
    assert said[0].startswith("migrate failed: cannot use the database (DATABASE_URL): ")
    assert "hunter2" not in said[0]


async def test_redis_out_of_reach_at_start(stand: StandIn, tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'ipdesk.db'}"
    assert await bot("migrate", DATABASE_URL=database) == (0, [])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once it closes
    code, said = await bot(
        "run",
        BOT_TOKEN=stand.create_bot().token,
        TELEGRAM_API_BASE=stand.base_url,
        DATABASE_URL=database,
        REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}/0",
    )
    assert code == 1 and len(said) == 1
    assert said[0].startswith("the bot stopped: cannot use Redis (REDIS_URL): ")
    assert "hunter2" not in said[0]
