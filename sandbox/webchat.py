"""The web chat: a page at `/` (plain files from `sandbox/web/`) fed over a WebSocket.

The page is a client of the control API like the terminal chat. `/sandbox/ws?after=N` first
sends the world's state, then every event after number N as it happens (the page rebuilds its
chats from the events, so a page opened late replays them from 0), and the state again whenever
people, chats, topics or members change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from sandbox.control import same_origin, world_state

if TYPE_CHECKING:
    from sandbox.server import StandIn

WEB_DIR = Path(__file__).with_name("web")
STATE_CHECK_SECONDS = 1.0  # people created by tests in-process change no event: look this often
_NO_CACHE = {"Cache-Control": "no-cache"}


def web_routes(stand: StandIn) -> list[web.AbstractRouteDef]:
    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html", headers=_NO_CACHE)

    async def socket(request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            raise web.HTTPForbidden(text="connections from other sites are refused")
        return await stream(stand, request)

    return [
        web.get("/", index),
        web.get("/sandbox/ws", socket),
        web.static("/web", WEB_DIR, append_version=False),
    ]


async def stream(stand: StandIn, request: web.Request) -> web.WebSocketResponse:
    """Send state and events until the page goes away or the stand-in stops."""
    try:
        after = max(0, int(request.query.get("after", 0)))
    except ValueError:
        raise web.HTTPBadRequest(text="after must be a number") from None
    ws = web.WebSocketResponse(heartbeat=20.0, timeout=2.0)
    await ws.prepare(request)
    reader = asyncio.create_task(_drain(ws))
    log = stand.world.events
    sent_state: dict[str, Any] | None = None
    try:
        while not ws.closed and not stand.closing:
            state = world_state(stand)
            state.pop("last_event")
            if state != sent_state:
                await _send(ws, {"type": "state", "state": state})
                sent_state = state
            if len(log.events) > after:
                new = log.after(after)
                after += len(new)
                await _send(
                    ws, {"type": "events", "events": [e.to_api() for e in new], "last": after}
                )
            await log.pulse.wait_until(_news(stand, reader, after), STATE_CHECK_SECONDS)
    except (ConnectionResetError, RuntimeError):
        pass  # the page went away mid-send
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()
    return ws


def _news(stand: StandIn, reader: asyncio.Task[None], seen: int) -> Callable[[], bool]:
    """Something to send: events past `seen`, or the page or the stand-in going away."""
    log = stand.world.events
    return lambda: len(log.events) > seen or stand.closing or reader.done()


async def _drain(ws: web.WebSocketResponse) -> None:
    """The page sends nothing we need; reading notices when it closes."""
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            break


async def _send(ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
    await ws.send_str(json.dumps(payload, ensure_ascii=False))
