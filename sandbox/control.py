"""A small JSON API under `/sandbox/api/` for the terminal chat (and a web chat later).

GET  /sandbox/api/state                      bots, users, chats
POST /sandbox/api/users                      {"first_name", "language_code"?, "username"?}
PATCH /sandbox/api/users/{id}                {"language_code"}
POST /sandbox/api/send                       {"user_id", "text", "chat_id"?, "thread_id"?}
POST /sandbox/api/photo                      {"user_id", "data" (base64), "caption"?, ...}
POST /sandbox/api/press                      {"user_id", "chat_id", "message_id",
                                              "text"? | "callback_data"? | "index"?}
GET  /sandbox/api/messages?user_id=&chat_id= the chat's history, both sides
GET  /sandbox/api/events?after=N&timeout=S   new events (messages, edits, ...) in order
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.driver import GroupDriver, UserDriver
from sandbox.methods.common import buttons_of

if TYPE_CHECKING:
    from sandbox.server import StandIn

PREFIX = "/sandbox/api"
MAX_EVENT_WAIT = 30.0

JsonHandler = Callable[[web.Request], Awaitable[Any]]


class ControlApi:
    def __init__(self, stand: StandIn) -> None:
        self.stand = stand
        self.drivers: dict[int, UserDriver] = {}

    @property
    def world(self) -> Any:
        return self.stand.world

    def driver(self, user_id: Any) -> UserDriver:
        try:
            user = self.world.users[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise _error(404, f"no user {user_id}") from None
        if user.is_bot:
            raise _error(400, "bots are driven through the Bot API")
        return self.drivers.setdefault(user.id, UserDriver(self.stand, user))

    def group(self, chat_id: Any) -> GroupDriver | None:
        if chat_id is None or int(chat_id) > 0:
            return None
        chat = self.world.chats.get(int(chat_id))
        if chat is None:
            raise _error(404, f"no chat {chat_id}")
        return GroupDriver(self.stand, chat)

    async def state(self, request: web.Request) -> dict[str, Any]:
        world = self.world
        return {
            "bots": [bot.user.to_api() for bot in world.bots.values()],
            "users": [u.to_api() for u in world.users.values() if not u.is_bot],
            "chats": [
                {**chat.to_api(), "topics": [t.to_api() for t in chat.topics.values()]}
                for chat in world.chats.values()
            ],
            "last_event": len(world.events.events),
        }

    async def create_user(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        if not body.get("first_name"):
            raise _error(400, "first_name is required")
        driver = self.stand.create_user(
            str(body["first_name"]),
            language_code=body.get("language_code"),
            username=body.get("username"),
        )
        self.drivers[driver.id] = driver
        return driver.user.to_api()

    async def update_user(self, request: web.Request) -> dict[str, Any]:
        driver = self.driver(request.match_info["user_id"])
        body = await _body(request)
        if "language_code" in body:
            driver.language_code = body["language_code"] or None
        return driver.user.to_api()

    async def send(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        return await driver.send(
            str(body.get("text", "")),
            chat=self.group(body.get("chat_id")),
            thread_id=body.get("thread_id"),
        )

    async def photo(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        try:
            data = base64.b64decode(str(body.get("data", "")), validate=True)
        except binascii.Error:
            raise _error(400, "data must be base64") from None
        return await driver.send_photo(
            data,
            body.get("caption"),
            chat=self.group(body.get("chat_id")),
            thread_id=body.get("thread_id"),
        )

    async def press(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        chat_id = int(body.get("chat_id", driver.id))
        message = {"message_id": int(body.get("message_id", 0)), "chat": {"id": chat_id}}
        message["from"] = {"id": body.get("bot_id") or self._only_bot_id()}
        try:
            if "index" in body:
                buttons = buttons_of(driver.current(message))
                index = int(body["index"])
                if not 1 <= index <= len(buttons):
                    raise _error(400, f"no button {index}; the message has {len(buttons)}")
                return await driver.press(message, buttons[index - 1]["text"])
            return await driver.press(
                message, body.get("text"), callback_data=body.get("callback_data")
            )
        except AssertionError as exc:
            raise _error(400, str(exc)) from None

    def _only_bot_id(self) -> int:
        bots = list(self.world.bots)
        return bots[0] if bots else 0

    async def messages(self, request: web.Request) -> list[dict[str, Any]]:
        query = request.query
        chat_id = int(query.get("chat_id") or query.get("user_id") or 0)
        return self.stand.chat_messages(chat_id)

    async def events(self, request: web.Request) -> dict[str, Any]:
        after = int(request.query.get("after", 0))
        timeout = min(float(request.query.get("timeout", 25)), MAX_EVENT_WAIT)
        log = self.world.events
        await log.pulse.wait_until(lambda: len(log.events) > after or self.stand.closing, timeout)
        new = log.after(after)
        return {"events": [e.to_api() for e in new], "last": after + len(new)}


class _ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> _ControlError:
    return _ControlError(status, message)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise _error(400, "the body must be JSON") from None
    if not isinstance(data, dict):
        raise _error(400, "the body must be a JSON object")
    return data


def _json_route(handler: JsonHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def route(request: web.Request) -> web.Response:
        try:
            return web.json_response({"ok": True, "result": await handler(request)})
        except _ControlError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)

    return route


def control_routes(stand: StandIn) -> list[web.RouteDef]:
    api = ControlApi(stand)
    return [
        web.get(f"{PREFIX}/state", _json_route(api.state)),
        web.post(f"{PREFIX}/users", _json_route(api.create_user)),
        web.patch(f"{PREFIX}/users/{{user_id}}", _json_route(api.update_user)),
        web.post(f"{PREFIX}/send", _json_route(api.send)),
        web.post(f"{PREFIX}/photo", _json_route(api.photo)),
        web.post(f"{PREFIX}/press", _json_route(api.press)),
        web.get(f"{PREFIX}/messages", _json_route(api.messages)),
        web.get(f"{PREFIX}/events", _json_route(api.events)),
    ]
