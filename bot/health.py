"""Health and metrics on `HEALTH_PORT`: `/healthz` (the process is up), `/readyz` (the database
and Redis answer), `/metrics` (Prometheus text format). Runs in polling and webhook mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from bot.app import Resources
from bot.metrics import DatabaseFigures
from bot.outage import is_outage
from db.models import utcnow
from db.repositories.stats import StatsRepository

log = logging.getLogger("ipdesk.health")

CHECK_TIMEOUT = 2.0  # seconds each dependency may take to answer a probe
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def create_health_app(resources: Resources) -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _ready_handler(resources))
    app.router.add_get("/metrics", _metrics_handler(resources))
    return app


async def start_health_server(resources: Resources, host: str, port: int) -> web.AppRunner:
    """Serve the endpoints on host:port (0: a free port, see `bound_port`)."""
    runner = web.AppRunner(create_health_app(resources), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health endpoint listening", extra={"port": bound_port(runner)})
    return runner


def bound_port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _ready_handler(resources: Resources):  # type: ignore[no-untyped-def]
    async def readyz(_request: web.Request) -> web.Response:
        checks = {"database": await _check_database(resources)}
        if resources.redis is not None:
            checks["redis"] = await _check_redis(resources)
        ready = all(value == "ok" for value in checks.values())
        return web.json_response(
            {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
        )

    return readyz


async def _check_database(resources: Resources) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; say which
        log.warning("readiness: database check failed: %r", error)
        return f"error: {type(error).__name__}"
    return "ok"


async def _check_redis(resources: Resources) -> str:
    assert resources.redis is not None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await resources.redis.ping()
    except Exception as error:
        log.warning("readiness: Redis check failed: %r", error)
        return f"error: {type(error).__name__}"
    return "ok"


def _metrics_handler(resources: Resources):  # type: ignore[no-untyped-def]
    async def metrics(_request: web.Request) -> web.Response:
        figures = await _database_figures(resources)
        return web.Response(
            body=resources.metrics.render(figures).encode(),
            headers={"Content-Type": METRICS_CONTENT_TYPE},
        )

    return metrics


async def _database_figures(resources: Resources) -> DatabaseFigures | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), resources.sessionmaker() as session:
            stats = StatsRepository(session)
            backlog, oldest = await stats.outbox_backlog()
            tickets = await stats.tickets_by_status()
            dead = await stats.dead_letters()
    except Exception as error:
        if not is_outage(error) and not isinstance(error, TimeoutError):
            log.exception("metrics: database figures failed")
        return None
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return DatabaseFigures(backlog, max(age, 0.0), tickets, dead)
