"""The entry point of compose.yaml, `deploy/Caddyfile`, run by a real Caddy in front of two
stand-ins for the bot replicas: webhook posts reach the replicas (both, and only the one that is
up once the other's health check failed), with Telegram's secret header; anything else is 404.

The replicas are two loopback addresses on the same ports, as two containers are two hosts;
only their names in the file are changed for the test."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import aiohttp
import pytest
from aiohttp import web

from bot.config import REPO_ROOT

pytestmark = pytest.mark.own_backend  # no database or Redis: once, in the SQLite pass

CADDYFILE = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
REPLICAS = ("127.0.0.2", "127.0.0.3")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port(*hosts: str) -> int:
    """A port free on every one of `hosts`."""
    while True:
        with socket.socket() as first:
            first.bind((hosts[0], 0))
            port = int(first.getsockname()[1])
            try:
                for host in hosts[1:]:
                    with socket.socket() as other:
                        other.bind((host, port))
            except OSError:
                continue
            return port


def caddy_version(caddy: str) -> tuple[int, int]:
    printed = subprocess.run([caddy, "version"], capture_output=True, text=True, check=True)
    found = re.match(r"v?(\d+)\.(\d+)", printed.stdout.strip())
    assert found is not None, printed.stdout
    return int(found.group(1)), int(found.group(2))


class Replica:
    """A bot replica as the entry point sees it: the webhook and /readyz on the health port."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.posts: list[str | None] = []  # the secret header of each webhook post
        self._runners: list[web.AppRunner] = []

    async def start(self, webhook_port: int, health_port: int) -> None:
        webhook = web.Application()
        webhook.router.add_post("/webhook", self._post)
        health = web.Application()
        health.router.add_get("/readyz", self._ready)
        for app, port in ((webhook, webhook_port), (health, health_port)):
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, self.host, port).start()
            self._runners.append(runner)

    async def _ready(self, _request: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    async def _post(self, request: web.Request) -> web.Response:
        self.posts.append(request.headers.get(SECRET_HEADER))
        return web.json_response({})

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


@pytest.fixture
def caddy() -> str:
    found = shutil.which("caddy")
    if found is None:
        reason = "caddy is not installed (apt-get install caddy)"
        if os.environ.get("IPDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and IPDESK_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    return found


async def start_caddy(
    caddy: str, config: Path, home: Path
) -> tuple[asyncio.subprocess.Process, int, IO[bytes]]:
    """Caddy serving `config` on a free port: (process, port, its log). A port taken between
    choosing it and Caddy binding it (other tests run meanwhile) is chosen again."""
    for attempt in range(5):
        front = free_port("0.0.0.0")  # Caddy listens on every address
        log = home / f"caddy-{attempt}.log"
        said = log.open("wb")  # a file: a pipe nobody reads would stall Caddy
        process = await asyncio.create_subprocess_exec(
            *(caddy, "run", "--config", str(config), "--adapter", "caddyfile"),
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(home),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_CONFIG_HOME": str(home / "config"),
                "WEBHOOK_DOMAIN": f"http://127.0.0.1:{front}",  # plain HTTP: no certificate
            },
            stdout=subprocess.DEVNULL,
            stderr=said,
        )
        for _ in range(100):  # serving once it says so (not whoever else answers the port)
            if process.returncode is not None or "serving initial configuration" in log.read_text():
                break
            await asyncio.sleep(0.1)
        if process.returncode is None:
            return process, front, said
        said.close()
        if "address already in use" not in log.read_text():
            raise RuntimeError(f"caddy exited: {log.read_text()[-2000:]}")
    raise RuntimeError("no free port for Caddy in five tries")


@pytest.fixture
async def entry(caddy: str, tmp_path: Path) -> AsyncIterator[tuple[str, list[Replica]]]:
    replicas = [Replica(host) for host in REPLICAS]
    for _ in range(5):  # ports taken between choosing and binding them are chosen again
        webhook_port, health_port = free_port(*REPLICAS), free_port(*REPLICAS)
        try:
            for replica in replicas:
                await replica.start(webhook_port, health_port)
            break
        except OSError:
            for replica in replicas:
                await replica.stop()
    else:
        raise RuntimeError("no free ports for the replicas in five tries")
    names = "bot-1:8081 bot-2:8081"
    changes = {  # the replicas' names and ports; health checks every 0.3 s, not 5 s
        names: " ".join(f"{host}:{webhook_port}" for host in REPLICAS),
        "health_port 8082": f"health_port {health_port}",
        "health_interval 5s": "health_interval 300ms",
    }
    config = CADDYFILE
    for old, new in changes.items():
        assert config.count(old) == 1, old
        config = config.replace(old, new)
    if caddy_version(caddy) < (2, 7):
        # Debian's Caddy (2.6) names the request buffer as compose's image (2.7+) no longer
        # does: the same setting, in the older form.
        assert config.count("request_buffers 4MB") == 1
        config = config.replace("request_buffers 4MB", "buffer_requests")
    path = tmp_path / "Caddyfile"
    path.write_text("{\n\tadmin off\n}\n" + config)  # no admin API: nothing else to bind
    try:
        process, front, said = await start_caddy(caddy, path, tmp_path)
    except BaseException:
        for replica in replicas:
            await replica.stop()
        raise
    try:
        yield f"http://127.0.0.1:{front}", replicas
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        said.close()
        for replica in replicas:
            await replica.stop()


async def test_webhook_posts_reach_the_replicas_and_nothing_else_is_served(
    entry: tuple[str, list[Replica]],
) -> None:
    url, (first, second) = entry
    async with aiohttp.ClientSession() as http:
        for _ in range(4):
            async with http.post(
                f"{url}/webhook", json={"update_id": 1}, headers={SECRET_HEADER: "s3cret"}
            ) as response:
                assert response.status == 200
        assert first.posts and second.posts  # spread over both
        assert set(first.posts + second.posts) == {"s3cret"}  # the secret passed on
        for path in ("/", "/readyz", "/metrics", "/webhook/x"):
            async with http.get(f"{url}{path}") as response:
                assert response.status == 404, path

        await second.stop()  # one replica down: once its health check fails, no post goes there
        await asyncio.sleep(1)
        before = len(first.posts)
        for _ in range(4):
            async with http.post(f"{url}/webhook", json={"update_id": 2}) as response:
                assert response.status == 200
        assert len(first.posts) == before + 4
