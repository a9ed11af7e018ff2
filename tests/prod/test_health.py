"""`/healthz`, `/readyz` and `/metrics` on HEALTH_PORT."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from bot.app import Resources, create_resources
from bot.config import load_settings
from bot.faq.content import FaqBase
from bot.faq.match import FaqMatcher
from bot.health import bound_port, start_health_server
from db.models import OutboxMessage, Ticket, utcnow
from tests.prod.conftest import WebhookBot, free_port

Get = Callable[[str], Awaitable[tuple[int, str]]]


@pytest.fixture
async def health() -> AsyncIterator[Callable[[Resources], Awaitable[Get]]]:
    runners: list[web.AppRunner] = []

    async def serve(resources: Resources) -> Get:
        runner = await start_health_server(resources, "127.0.0.1", 0)
        runners.append(runner)
        base = f"http://127.0.0.1:{bound_port(runner)}"

        async def get(path: str) -> tuple[int, str]:
            async with aiohttp.ClientSession() as http, http.get(base + path) as answer:
                return answer.status, await answer.text()

        return get

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_live_ready_and_counting(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]],
    health: Callable[[Resources], Awaitable[Get]],
) -> None:
    app = await make_webhook_app()
    get = await health(app.resources)
    assert await get("/healthz") == (200, '{"status": "ok"}')
    status, body = await get("/readyz")
    assert status == 200 and '"database": "ok"' in body
    assert ('"redis": "ok"' in body) == (app.resources.redis is not None)

    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start")
    await user.expect_message()
    async with app.resources.sessionmaker() as session:
        ticket = Ticket(
            draft_id="d1", user_id=None, language="en", kind="other", right="patent",
            location="x", description="y", company="z", contact="c",
        )  # fmt: skip
        session.add(ticket)
        session.add(OutboxMessage(kind="text", chat_id=1, payload="{}", created_at=utcnow()))
        await session.commit()

    status, metrics = await get("/metrics")
    assert status == 200
    lines = metrics.splitlines()
    assert 'ipdesk_updates_total{type="message"} 1' in lines
    assert 'ipdesk_update_seconds_bucket{type="message",le="+Inf"} 1' in lines
    assert "# TYPE ipdesk_update_seconds histogram" in lines
    assert 'ipdesk_webhook_requests_total{status="200"} 1' in lines
    assert 'ipdesk_tickets{status="new"} 1' in lines
    assert "ipdesk_outbox_backlog 1" in lines
    assert "ipdesk_dead_letters_total 0" in lines
    assert "ipdesk_database_up 1" in lines
    oldest = next(line for line in lines if line.startswith("ipdesk_outbox_oldest_seconds "))
    assert 0 <= float(oldest.split()[1]) < 60


async def test_not_ready_when_the_database_and_redis_do_not_answer(
    health: Callable[[Resources], Awaitable[Get]], faq_index: tuple[FaqBase, FaqMatcher]
) -> None:
    closed = free_port()  # nothing listens there
    settings = load_settings(
        env_file=None,
        database_url=f"postgresql+asyncpg://ipdesk@127.0.0.1:{closed}/ipdesk",
        redis_url=f"redis://127.0.0.1:{closed}/0",
    )
    resources = create_resources(settings, faq=faq_index)
    try:
        get = await health(resources)
        assert (await get("/healthz"))[0] == 200  # the process itself is fine
        status, body = await get("/readyz")
        assert status == 503
        assert '"status": "unavailable"' in body
        assert '"database": "error: ' in body and '"redis": "error: ' in body
        status, metrics = await get("/metrics")
        assert status == 200 and "ipdesk_database_up 0" in metrics.splitlines()
    finally:
        await resources.close()
