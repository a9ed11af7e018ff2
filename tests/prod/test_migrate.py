"""`python -m bot migrate` from every replica at once: one migrates, the others wait for it
(a PostgreSQL advisory lock) and then find nothing to do."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import REPO_ROOT
from bot.migrate import ADVISORY_LOCK_KEY, alembic_config
from db.engine import create_engine

REPLICAS = 3


@pytest.fixture
async def empty_database(pg_url: str) -> AsyncIterator[str]:
    name = f"ipdesk_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def test_replicas_migrating_at_once_all_succeed(empty_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database}
    processes = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "migrate"),
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(REPLICAS)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 120)
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()
    head = ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    engine = create_engine(empty_database)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            tickets = await conn.scalar(text("SELECT count(*) FROM tickets"))
    finally:
        await engine.dispose()
    assert [row[0] for row in versions] == [head] and tickets == 0


async def test_migrate_waits_while_another_replica_holds_the_lock(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        async with engine.connect() as holder:  # another replica, mid-migration
            await holder.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "migrate"),
                cwd=REPO_ROOT,
                env={**os.environ, "DATABASE_URL": empty_database},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), 5)
            async with engine.connect() as probe:
                assert not await probe.scalar(text("SELECT to_regclass('tickets') IS NOT NULL"))
            await holder.rollback()  # the other replica is done: the lock is free
        assert await asyncio.wait_for(process.wait(), 60) == 0
        async with engine.connect() as probe:
            assert await probe.scalar(text("SELECT to_regclass('tickets') IS NOT NULL"))
    finally:
        await engine.dispose()
