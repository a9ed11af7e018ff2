"""A small JSON API under `/sandbox/api/` for the terminal chat and the web chat.

GET  /sandbox/api/state                      bots, users, chats (with topics and members)
POST /sandbox/api/users                      {"first_name", "language_code"?, "username"?}
PATCH /sandbox/api/users/{id}                {"language_code"}
POST /sandbox/api/members                    {"chat_id", "user_id", "status"?}
POST /sandbox/api/send                       {"user_id", "text", "chat_id"?, "thread_id"?,
                                              "reply_to_message_id"?}
POST /sandbox/api/edit                       {"user_id", "chat_id"?, "message_id", "text"}
POST /sandbox/api/photo                      {"user_id", "data" (base64), "caption"?, ...}
POST /sandbox/api/upload                     multipart: user_id, chat_id?, thread_id?, caption?,
                                              as ("auto" | "document"), file (1-10 times)
POST /sandbox/api/press                      {"user_id", "chat_id", "message_id",
                                              "text"? | "callback_data"? | "index"?}
GET  /sandbox/api/messages?user_id=&chat_id= the chat's history, both sides
GET  /sandbox/api/events?after=N&timeout=S   new events (messages, edits, ...) in order
GET  /sandbox/api/commands?user_id=&chat_id= the command menu this person sees there
GET  /sandbox/api/inspect                    recent Bot API calls and spec violations
GET  /sandbox/api/files/{file_id}            a stored file (images inline, the rest as downloads)

Requests that change something are refused when a browser says they come from another site.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from aiohttp import web

from sandbox.driver import GroupDriver, UserDriver
from sandbox.files import FileKind, image_size
from sandbox.methods.common import buttons_of

if TYPE_CHECKING:
    from sandbox.server import StandIn

PREFIX = "/sandbox/api"
MAX_EVENT_WAIT = 30.0
MAX_FILES = 10
INSPECT_LIMIT = 60
# Images a browser may show inline; everything else is served as a download (an uploaded
# .html or .svg shown inline would run scripts on this origin).
INLINE_IMAGES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}
_ALBUM_FAMILY = {
    FileKind.PHOTO: "visual",
    FileKind.VIDEO: "visual",
    FileKind.DOCUMENT: "document",
    FileKind.AUDIO: "audio",
}

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
        if chat_id is None or chat_id == "" or int(chat_id) > 0:
            return None
        chat = self.world.chats.get(int(chat_id))
        if chat is None:
            raise _error(404, f"no chat {chat_id}")
        return GroupDriver(self.stand, chat)

    async def state(self, request: web.Request) -> dict[str, Any]:
        return world_state(self.stand)

    async def create_user(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        name = str(body.get("first_name") or "").strip()
        if not name:
            raise _error(400, "first_name is required")
        driver = self.stand.create_user(
            name[:64],
            language_code=body.get("language_code") or None,
            username=body.get("username") or None,
        )
        self.drivers[driver.id] = driver
        self.world.events.pulse.notify()  # watchers of the state see the new person
        return driver.user.to_api()

    async def update_user(self, request: web.Request) -> dict[str, Any]:
        driver = self.driver(request.match_info["user_id"])
        body = await _body(request)
        if "language_code" in body:
            driver.language_code = body["language_code"] or None
            self.world.events.pulse.notify()
        return driver.user.to_api()

    async def add_member(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        group = self.group(body.get("chat_id"))
        if group is None:
            raise _error(400, "chat_id must name a group")
        try:
            group.add_member(driver, str(body.get("status") or "member"))
        except ValueError:
            raise _error(400, f"no member status {body.get('status')!r}") from None
        self.world.events.pulse.notify()
        return {"chat_id": group.id, "user_id": driver.id, "status": body.get("status")}

    async def send(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        chat = self.group(body.get("chat_id"))
        try:
            return await driver.send(
                str(body.get("text", "")),
                chat=chat,
                thread_id=body.get("thread_id") or None,
                reply_to=self._reply_target(driver, body, chat),
            )
        except AssertionError as exc:
            raise _error(400, str(exc)) from None

    async def edit(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        driver = self.driver(body.get("user_id"))
        chat_id = int(body.get("chat_id") or driver.id)
        message = {"message_id": int(body.get("message_id", 0)), "chat": {"id": chat_id}}
        message["from"] = {"id": body.get("bot_id") or self._only_bot_id()}  # picks the chat
        try:
            return await driver.edit(message, str(body.get("text", "")))
        except AssertionError as exc:
            raise _error(400, str(exc)) from None

    def _reply_target(
        self, driver: UserDriver, body: dict[str, Any], chat: GroupDriver | None
    ) -> dict[str, Any] | None:
        message_id = body.get("reply_to_message_id")
        if not message_id:
            return None
        chat_id = chat.id if chat is not None else driver.id
        return {
            "message_id": int(message_id),
            "chat": {"id": chat_id},
            "from": {"id": body.get("bot_id") or self._only_bot_id()},
        }

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

    async def upload(self, request: web.Request) -> list[dict[str, Any]]:
        """Files from a browser: one message, or an album of 2-10, as Telegram apps send them."""
        try:
            form = await request.post()
        except ValueError:
            raise _error(400, "the body must be multipart/form-data") from None
        driver = self.driver(form.get("user_id"))
        fields = [value for value in form.getall("file", []) if isinstance(value, web.FileField)]
        if not 1 <= len(fields) <= MAX_FILES:
            raise _error(400, f"attach 1-{MAX_FILES} files")
        as_files = form.get("as") == "document"
        files = []
        for field in fields:
            data = field.file.read()
            kind = FileKind.DOCUMENT if as_files else _kind_of(data, field.content_type)
            mime = field.content_type or "application/octet-stream"
            files.append((kind, data, field.filename or "file", mime))
        if len(files) > 1 and len({_ALBUM_FAMILY.get(kind) for kind, *_ in files}) != 1:
            files = [(FileKind.DOCUMENT, *rest) for _, *rest in files]  # as Telegram apps do
        caption = str(form.get("caption") or "") or None
        thread = form.get("thread_id")
        try:
            return await driver.send_files(
                files,
                caption,
                chat=self.group(form.get("chat_id")),
                thread_id=int(str(thread)) if thread else None,
            )
        except AssertionError as exc:
            raise _error(400, str(exc)) from None

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

    async def commands(self, request: web.Request) -> list[dict[str, Any]]:
        driver = self.driver(request.query.get("user_id"))
        if not self.world.bots:
            return []
        chat = self.group(request.query.get("chat_id"))
        return driver.visible_commands(chat, bot=next(iter(self.world.bots.values())))

    async def inspect(self, request: web.Request) -> dict[str, Any]:
        calls = [r for r in self.stand.requests if r.method != "getUpdates"]
        return {
            "requests": len(self.stand.requests),
            "recent": [
                {
                    "method": r.method,
                    "chat_id": r.chat_id,
                    "ok": r.ok,
                    "error": None if r.ok else r.response.get("description"),
                    "fault": r.fault,
                    "at": r.at,
                }
                for r in calls[-INSPECT_LIMIT:]
            ],
            "failed": sum(1 for r in calls if not r.ok),
            "violations": self.stand.violations[-INSPECT_LIMIT:],
        }

    async def file(self, request: web.Request) -> web.Response:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound(text="no such file")
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
        image = next(
            (kind for magic, kind in INLINE_IMAGES.items() if stored.data.startswith(magic)), None
        )
        if image is not None and image_size(stored.data) is not None:
            return web.Response(body=stored.data, content_type=image, headers=headers)
        name = (stored.file_name or stored.file_path.rsplit("/", 1)[-1]).replace('"', "")
        headers["Content-Disposition"] = f'attachment; filename="{_ascii(name)}"'
        return web.Response(
            body=stored.data, content_type="application/octet-stream", headers=headers
        )


def world_state(stand: StandIn) -> dict[str, Any]:
    """Everything a chat client needs to draw the world (not the messages: those are events)."""
    world = stand.world
    return {
        "instance": stand.instance,
        "bots": [bot.user.to_api() for bot in world.bots.values()],
        "users": [u.to_api() for u in world.users.values() if not u.is_bot],
        "chats": [
            {
                **chat.to_api(),
                "topics": [{**t.to_api(), "closed": t.closed} for t in chat.topics.values()],
                "members": [
                    {"user_id": user_id, "status": status.value}
                    for user_id, status in chat.members.items()
                ],
            }
            for chat in world.chats.values()
        ],
        "last_event": len(world.events.events),
    }


def _kind_of(data: bytes, content_type: str | None) -> FileKind:
    """What a Telegram app sends a file as when not told "as a file"."""
    mime = (content_type or "").lower()
    if mime in ("image/jpeg", "image/png", "image/webp") and image_size(data) is not None:
        return FileKind.PHOTO
    if mime.startswith("video/"):
        return FileKind.VIDEO
    if mime.startswith("audio/"):
        return FileKind.AUDIO
    return FileKind.DOCUMENT


def _ascii(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in name) or "file"


class _ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> _ControlError:
    return _ControlError(status, message)


def same_origin(request: web.Request) -> bool:
    """No Origin (a script, the terminal chat) or this very host: not another site's page."""
    origin = request.headers.get("Origin")
    return origin is None or urlparse(origin).netloc == request.host


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
            if request.method != "GET" and not same_origin(request):
                raise _error(403, "requests from other sites are refused")
            return web.json_response({"ok": True, "result": await handler(request)})
        except _ControlError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)
        except ValueError as exc:  # a malformed number in the parameters
            return web.json_response({"ok": False, "error": str(exc)}, status=400)

    return route


def control_routes(stand: StandIn) -> list[web.RouteDef]:
    api = ControlApi(stand)
    return [
        web.get(f"{PREFIX}/state", _json_route(api.state)),
        web.post(f"{PREFIX}/users", _json_route(api.create_user)),
        web.patch(f"{PREFIX}/users/{{user_id}}", _json_route(api.update_user)),
        web.post(f"{PREFIX}/members", _json_route(api.add_member)),
        web.post(f"{PREFIX}/send", _json_route(api.send)),
        web.post(f"{PREFIX}/edit", _json_route(api.edit)),
        web.post(f"{PREFIX}/photo", _json_route(api.photo)),
        web.post(f"{PREFIX}/upload", _json_route(api.upload)),
        web.post(f"{PREFIX}/press", _json_route(api.press)),
        web.get(f"{PREFIX}/messages", _json_route(api.messages)),
        web.get(f"{PREFIX}/events", _json_route(api.events)),
        web.get(f"{PREFIX}/commands", _json_route(api.commands)),
        web.get(f"{PREFIX}/inspect", _json_route(api.inspect)),
        web.get(f"{PREFIX}/files/{{file_id}}", api.file),
    ]
