"""PostgreSQL restarts while people are filing complaints: updates that meet the outage are
answered 503 and delivered again, pooled connections are replaced, and no ticket is lost.

This stops the machine's PostgreSQL (`pg_ctlcluster ... stop`), lets people write while it is
down (so that updates are sure to meet the outage: with a plain restart they sometimes all
fell before or after it), then starts it; the fixture always brings it back, whatever the
test did.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from db.models import DeadLetter, Ticket
from sandbox.driver import UserDriver
from tests.helpers import eventually
from tests.prod.conftest import RedisServer, WebhookBot

PEOPLE = 6
STEP = 30.0  # seconds a person waits for an answer (the restart takes a few)
CLUSTERS = Path("/etc/postgresql")

Restart = tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]  # stop, start


def _cluster() -> list[str]:
    """`pg_ctlcluster` arguments for the local cluster, or a skip saying why there is none."""
    versions = sorted(p.name for p in CLUSTERS.iterdir()) if CLUSTERS.is_dir() else []
    if not shutil.which("pg_ctlcluster") or not versions:
        reason = "no local PostgreSQL cluster to restart (pg_ctlcluster)"
        if os.environ.get("IPDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and IPDESK_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


async def _pg_ctl(cluster: list[str], action: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *cluster, action, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0 and action != "start":  # start: it may be running already
        raise RuntimeError(f"pg_ctlcluster {action} failed: {err.decode()}")


async def _ready(host: str, port: int, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        process = await asyncio.create_subprocess_exec(
            *("pg_isready", "-q", "-h", host, "-p", str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if await process.wait() == 0:
            return True
        await asyncio.sleep(0.5)
    return False


@pytest.fixture
async def restart_postgres(pg_url: str) -> AsyncIterator[Restart]:
    url = make_url(pg_url)
    host, port = url.host or "127.0.0.1", url.port or 5432
    if host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"PostgreSQL at {host} is not this machine's")
    cluster = _cluster()

    async def stop() -> None:
        await _pg_ctl(cluster, "stop")

    async def start() -> None:
        await _pg_ctl(cluster, "start")
        assert await _ready(host, port, 60), "PostgreSQL did not come back after the restart"

    try:
        yield stop, start
    finally:  # whatever happened: the server is up again for everyone else
        if not await _ready(host, port, 2):
            await _pg_ctl(cluster, "start")
            assert await _ready(host, port, 60), "PostgreSQL could not be started again"


async def file(user: UserDriver, started: asyncio.Event, go_on: asyncio.Event) -> str:
    await user.send("/complaint")
    kinds = await user.expect_message(STEP)
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(STEP), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(STEP), callback_data="c:skip:registration:")
    await user.expect_edit(STEP)
    started.set()
    await go_on.wait()
    for answer in ("Barakholka market", "Fake phones with our logo", "ACME", "a@acme.kz"):
        await user.send(answer)
        last = await user.expect_message(STEP)
    await user.press(last, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(STEP), callback_data="c:consent:consent:")
    await user.press(await user.expect_edit(STEP), callback_data="c:confirm::")
    return str((await user.expect_edit(STEP))["text"])


@pytest.mark.own_backend  # its database is PostgreSQL in either pass: restart it once
@pytest.mark.serial  # the server restarts under everyone: nothing else may run meanwhile
async def test_tickets_filed_across_a_database_restart_are_all_kept(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]],
    pg_database: str,
    private_redis: RedisServer,
    restart_postgres: Restart,
) -> None:
    app = await make_webhook_app(database_url=pg_database, redis_url=private_redis.url)
    people = [app.stand.create_user(f"Person {i}", language_code="en") for i in range(PEOPLE)]
    halfway, go_on = [asyncio.Event() for _ in people], asyncio.Event()
    filing = [
        asyncio.create_task(file(person, event, go_on))
        for person, event in zip(people, halfway, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in halfway)), 60)
    stop, start = restart_postgres
    await stop()
    go_on.set()  # everyone writes their next answer while the database is down
    await asyncio.sleep(2)
    await start()
    receipts = await asyncio.wait_for(asyncio.gather(*filing), 180)

    async with app.resources.sessionmaker() as session:
        tickets = list(await session.scalars(select(Ticket).order_by(Ticket.id)))
        dead = await session.scalar(select(func.count()).select_from(DeadLetter))
    assert len(tickets) == PEOPLE, "a ticket was lost"
    assert sorted(t.user_id for t in tickets) == sorted(p.id for p in people)
    for ticket in tickets:
        assert sum(ticket.number in receipt for receipt in receipts) == 1
    assert dead == 0

    async def topics() -> list[int | None]:
        async with app.resources.sessionmaker() as session:
            return list(await session.scalars(select(Ticket.topic_id)))

    handed_off = await eventually(topics, lambda ids: None not in ids, within=40)
    assert None not in handed_off and len(set(handed_off)) == PEOPLE  # each its own topic
    metrics = app.resources.metrics
    assert metrics.webhook[503] >= 1, "no update met the outage: the test proved nothing"
    assert sum(n for (_, kind), n in metrics.errors.items() if kind == "outage") >= 1
