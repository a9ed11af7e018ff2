"""The desk's own services fail: PostgreSQL restarts while people file complaints (a cluster
of the test's own: the machine's server is shared), Redis restarts and loses everything during
dialogs, a conversation and an album being gathered."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.migrate import upgrade
from db.models import TicketAttachment
from sandbox.driver import UserDriver
from tests.faults.conftest import (
    COMPLAINT,
    STEP,
    MakeDesk,
    Row,
    copies,
    count_stored,
    file_complaint,
    free_port,
    receipt_number,
    until,
)
from tests.prod.conftest import RedisServer

pytestmark = pytest.mark.own_backend  # PostgreSQL and Redis of its own, in the first pass only

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust auth, no fsync) in a temporary directory, run as
    the `postgres` user when this is root (initdb refuses root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ipdesk-faults-pg-"))
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self.bin = BIN[-1]

    async def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{args[0]} {args[1:]} failed: {err.decode()}")

    def _pg_ctl(self, action: str, *extra: str) -> tuple[str, ...]:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.dir / "data"), str(self.dir / "log")
        return ("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", *extra, action)

    async def start(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        data = str(self.dir / "data")
        await self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        await self._run(*self._pg_ctl("start"))
        await asyncio.to_thread(upgrade, self.url)

    async def restart(self) -> None:
        """Every connection is cut; the server is back a moment later."""
        await self._run(*self._pg_ctl("restart", "-m", "fast"))

    async def stop(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            await self._run(*self._pg_ctl("stop", "-m", "immediate"))
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    if not BIN or (os.geteuid() == 0 and not _has_user("postgres")):
        pytest.skip("no PostgreSQL server binaries to run a cluster of the test's own")
    server = PrivatePostgres()
    try:
        await server.start()
        yield server
    finally:  # always: a stray cluster would hold its port and memory
        await server.stop()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


async def file_after(user: UserDriver, halfway: asyncio.Event) -> str:
    """A whole complaint, `halfway` set after the buttons, before the typed answers; the
    receipt's number. Every answer must come: an update whose reply was lost to the outage
    shows the dialog again when it is delivered again."""
    await user.send("/complaint")
    kinds = await user.expect_message(STEP)
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(STEP), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(STEP), callback_data="c:skip:registration:")
    await user.expect_edit(STEP)
    halfway.set()
    for answer in COMPLAINT:
        await user.send(answer)
        last = await user.expect_message(STEP)
    await user.press(last, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(STEP), callback_data="c:consent:consent:")
    await user.press(await user.expect_edit(STEP), callback_data="c:confirm::")
    return receipt_number(await user.expect_edit(STEP))


async def start_dialog(user: UserDriver) -> None:
    """/complaint through the buttons and the first typed answer."""
    await user.send("/complaint")
    kinds = await user.expect_message(STEP)
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(STEP), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(STEP), callback_data="c:skip:registration:")
    await user.expect_edit(STEP)
    await user.send(COMPLAINT[0])
    await user.expect_message(STEP)


async def test_postgres_restarts_while_complaints_are_filed(
    private_postgres: PrivatePostgres,  # first: it stops after the bot's processes
    make_desk: MakeDesk,
    record: Callable[[Row], None],
) -> None:
    """Four people halfway through their complaints when PostgreSQL restarts: updates that
    meet it are answered 503 and delivered again; every receipt names a stored ticket."""
    desk = await make_desk(database_url=private_postgres.url)
    people = [desk.person(f"Person {i}") for i in range(4)]
    halfway = [asyncio.Event() for _ in people]
    filing = [asyncio.create_task(file_after(p, e)) for p, e in zip(people, halfway, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in halfway)), 60)
    await private_postgres.restart()
    done = await asyncio.wait_for(asyncio.gather(*filing), 120)
    receipts = dict(zip([p.id for p in people], done, strict=True))

    await until(desk.topic_ready, within=40)
    tickets = await desk.tickets()
    record(
        Row(
            "PostgreSQL restart while tickets are filed",
            accepted=len(receipts),
            stored=count_stored(tickets, receipts),
        )
    )
    assert len(tickets) == len(people) and await desk.dead_letters() == 0
    assert len({t.topic_id for t in tickets}) == len(people)
    refused = [a for a in desk.stand.webhook_attempts if a.status == 503]
    assert refused, "no update met the outage: the test proved nothing"


async def test_redis_restarts_during_dialogs_and_an_album(
    make_desk: MakeDesk, private_redis: RedisServer, record: Callable[[Row], None]
) -> None:
    """Redis restarts empty while Jane is halfway through her complaint and Omar's album to
    staff is being gathered: Jane's next answer is taken at the stored step, Omar's album
    reaches his topic once, and what they write afterwards is carried as before. (Jane asks
    for the dialog again with /complaint at once; a typed answer would be taken at the
    draft's step as well: tests/prod/test_redis_restart.py.)"""
    desk = await make_desk()
    jane, omar = desk.person("Jane"), desk.person("Omar")
    receipts = {omar.id: await file_complaint(omar)}
    await until(desk.topic_ready)

    await start_dialog(jane)
    description_question = desk.stand.chat_messages(jane.id)[-1]
    await desk.answered()

    await omar.send_album([("photo", PNG), ("photo", PNG), ("photo", PNG)], caption="Album")
    await desk.answered()  # accepted; the album goes quiet for 1.5 s before it is copied
    await private_redis.kill()
    await private_redis.start()

    await jane.send("/complaint")  # the dialog's state was in Redis: resume at the draft's step
    assert (await jane.expect_message(STEP))["text"] == description_question["text"]
    for answer in COMPLAINT[1:]:
        await jane.send(answer)
        last = await jane.expect_message(STEP)
    await jane.press(last, callback_data="c:skip:evidence:")
    await jane.press(await jane.expect_edit(STEP), callback_data="c:consent:consent:")
    await jane.press(await jane.expect_edit(STEP), callback_data="c:confirm::")
    receipts[jane.id] = receipt_number(await jane.expect_edit(STEP))
    await omar.send("After the restart")
    await desk.answered()
    await until(desk.topic_ready)

    tickets = await desk.tickets()
    topic = next(t.topic_id for t in tickets if t.user_id == omar.id)
    staff = desk.stand.chat_messages(desk.staff.id, thread_id=topic)

    def photos() -> int:
        return sum(
            1 for m in desk.stand.delivered(desk.staff.id, thread_id=topic) if m.get("photo")
        )

    # Its quiet timer found the album's sequence number gone with Redis (or Redis still down,
    # then it tries again): the replica claims the group and copies it, without waiting for
    # the sweep of stale album parts (every 30 s, parts older than 10 s).
    await until(lambda: photos() >= 3, within=8)
    await until(lambda: copies(desk.stand, desk.staff.id, ["After the restart"], topic)[0])
    await desk.settled()
    delivered, duplicated = copies(desk.stand, desk.staff.id, ["After the restart"], topic)
    async with desk.sessionmaker() as session:
        attachments = list(await session.scalars(select(TicketAttachment)))
    record(
        Row(
            "Redis restart during a dialog and an album being gathered",
            accepted=len(receipts),
            stored=count_stored(tickets, receipts),
            relayed_sent=3 + 1,
            delivered=min(photos(), 3) + delivered,
            duplicated=max(photos() - 3, 0) + duplicated,
        )
    )
    assert staff and attachments == [] and await desk.dead_letters() == 0
    ticket = next(t for t in tickets if t.user_id == jane.id)
    assert (ticket.location, ticket.contact) == (COMPLAINT[0], COMPLAINT[3])
