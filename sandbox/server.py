"""The stand-in's HTTP face: `/bot<token>/<method>`, `/file/bot<token>/<path>`, control API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.control import control_routes
from sandbox.driver import GroupDriver, UserDriver
from sandbox.errors import METHOD_NOT_FOUND, UNAUTHORIZED, ApiError, bad_request
from sandbox.events import EventKind
from sandbox.faults import BAD_GATEWAY_PAGE, Answer, Fault, Faults, When
from sandbox.limits import Limiter, RateLimits
from sandbox.methods import BY_LOWER_NAME, HANDLERS, Call
from sandbox.spec import MethodSpec, Spec, Upload
from sandbox.state import BotAccount, Chat, MemberStatus, World, is_service_message
from sandbox.webchat import web_routes
from sandbox.webhook import (
    DEFAULT_RETRY_DELAYS,
    DEFAULT_WEBHOOK_TIMEOUT,
    Attempt,
    MethodReply,
    Redelivery,
    Route,
    WebhookSender,
)

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for files bots upload
TOO_LARGE = ApiError(413, "Request Entity Too Large")
_dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True)
class Request:
    """One Bot API call as the stand-in received it, what happened, and what the bot heard.

    `response` is the answer the bot got; when `answered` is False it got none (a dropped
    connection or a timeout) and `response` only says so. `effect` tells whether the call took
    effect in the world (the message is in the chat) whatever the bot heard, and `outcome` is
    the call's own result then; `fault` names the injected fault that shaped the answer.
    """

    method: str
    params: dict[str, Any]
    response: dict[str, Any]
    at: float  # when the request arrived, time.time()
    bot_id: int | None = None
    answered: bool = True
    effect: bool = False
    outcome: Any = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def error_code(self) -> int | None:
        return self.response.get("error_code")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass(frozen=True)
class _Body:
    raw: dict[str, Any]
    uploads: dict[str, Upload]
    form: bool


class StandIn:
    """A local Telegram Bot API: state, HTTP server, spec checks, and the test driver's entry."""

    def __init__(
        self,
        *,
        spec_path: Path | None = None,
        strict: bool = True,
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        rate_limits: RateLimits | None = None,
        webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
        webhook_parallel: bool = False,
        check_output: bool = True,
    ) -> None:
        self.world = World()
        self.instance = secrets.token_hex(4)  # tells a web page that the world was started anew
        self.spec = Spec.load(spec_path)
        self.strict = strict
        self.closing = False
        self.violations: list[str] = []
        self.requests: list[Request] = []
        self.faults = Faults()
        self.limiter = Limiter(rate_limits) if rate_limits else None
        self.base_url = ""
        self.webhook_retry_delays = webhook_retry_delays
        self.webhook_timeout = webhook_timeout
        self.webhook_parallel = webhook_parallel  # up to max_connections in flight, as Telegram
        # Check its own answers and updates against the spec: a test of the stand-in, on by
        # default; a benchmark turns it off (Telegram does not spend the bot's machine's CPU).
        self.check_output = check_output
        self.webhook_routes: dict[str, Route] = {}
        self.webhook_attempts: list[Attempt] = []  # every POST of an update, with its timing
        self._stopped: asyncio.Event | None = None  # set on stop: releases held requests
        self._senders: dict[int, WebhookSender] = {}
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.app = self._build_app()

    @property
    def spec_loaded(self) -> bool:
        return self.spec is not None

    # -- lifecycle ------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_routes(control_routes(self))
        app.router.add_routes(web_routes(self))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0: a free port); returns and remembers the base URL."""
        self.closing = False
        self._stopped = asyncio.Event()
        self._client = aiohttp.ClientSession()
        # lingering_time=0: after a 413 the unread rest of an upload is not drained.
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=1.0, lingering_time=0.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        for bot in self.world.bots.values():
            self.webhook_changed(bot)
        return self.base_url

    async def stop(self) -> None:
        self.closing = True
        if self._stopped is not None:
            self._stopped.set()
        for bot in self.world.bots.values():
            bot.updates.changed.notify()
        self.world.events.pulse.notify()
        for sender in list(self._senders.values()):
            await sender.stop()
        self._senders.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the world, as tests use it -------------------------------------------------------------

    def create_bot(self, username: str = "ipdesk_bot", first_name: str = "ipdesk") -> BotAccount:
        return self.world.create_bot(username, first_name)

    def create_user(
        self,
        first_name: str,
        *,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> UserDriver:
        user = self.world.create_user(
            first_name, username=username, language_code=language_code, last_name=last_name
        )
        return UserDriver(self, user)

    def create_supergroup(
        self, title: str, *, forum: bool = False, bots: Sequence[BotAccount] | None = None
    ) -> GroupDriver:
        """A supergroup (a forum if asked) with the bots (default: all) as administrators."""
        chat = self.world.create_group(title, supergroup=True, forum=forum)
        return self._group(chat, bots)

    def create_group(self, title: str, *, bots: Sequence[BotAccount] | None = None) -> GroupDriver:
        """A basic group with the bots (default: all) as plain members."""
        chat = self.world.create_group(title, supergroup=False)
        return self._group(chat, bots, status=MemberStatus.MEMBER)

    def _group(
        self,
        chat: Chat,
        bots: Sequence[BotAccount] | None,
        status: MemberStatus = MemberStatus.ADMINISTRATOR,
    ) -> GroupDriver:
        for bot in self.world.bots.values() if bots is None else bots:
            chat.members[bot.id] = status
        return GroupDriver(self, chat)

    def chat_messages(self, chat_id: int, thread_id: int | None = None) -> list[dict[str, Any]]:
        """Every message in a chat (or one topic), both sides, oldest first."""
        chats = (
            [self.world.chats[chat_id]]
            if chat_id in self.world.chats
            else [
                chat
                for (user_id, _), chat in self.world.private_chats.items()
                if user_id == chat_id
            ]
        )
        return [
            message.to_api()
            for chat in chats
            for message in sorted(chat.messages.values(), key=lambda m: m.message_id)
            if thread_id is None or message.thread_id == thread_id
        ]

    def bot_requests(
        self, method: str | None = None, *, chat_id: int | str | None = None
    ) -> list[Request]:
        """The recorded calls, of one method (any case) and to one chat if asked."""
        return [
            r
            for r in self.requests
            if (method is None or r.method.lower() == method.lower())
            and (chat_id is None or str(r.chat_id) == str(chat_id))
        ]

    def delivered(
        self,
        chat_id: int,
        *,
        text: str | None = None,
        thread_id: int | None = None,
        bot: BotAccount | None = None,
    ) -> list[dict[str, Any]]:
        """Every message a bot posted in a chat (or topic), oldest first, as first sent.

        Counted from the event log, so a message later deleted still counts; service messages
        (topic created, pinned, ...) do not. `text` matches a message's text or caption:
        `len(stand.delivered(user.id, text="Saved")) == 2` is a duplicate.
        """
        bot_ids = set(self.world.bots) if bot is None else {bot.id}
        return [
            message
            for event in self.world.events.events
            if event.kind is EventKind.MESSAGE
            and event.from_bot
            and event.chat_id == chat_id
            and (thread_id is None or event.thread_id == thread_id)
            and (message := event.message or {}).get("from", {}).get("id") in bot_ids
            and not is_service_message(message)
            and (text is None or text in (message.get("text"), message.get("caption")))
        ]

    def route_webhook(
        self,
        public_url: str,
        targets: Sequence[str],
        *,
        redeliver: Callable[[dict[str, Any]], Redelivery | None] | None = None,
    ) -> Route:
        """Put a load balancer at `public_url` (what a bot gives setWebhook): its updates go to
        `targets` (the replicas' own URLs) in turn, and those `redeliver` names twice."""
        route = Route(list(targets))
        if redeliver is not None:
            route.redeliver = redeliver
        self.webhook_routes[public_url] = route
        return route

    def set_rate_limits(
        self, limits: RateLimits | None, *, clock: Callable[[], float] | None = None
    ) -> Limiter | None:
        """Switch flood limits on (fresh buckets) or off (None); `clock` for frozen-time tests."""
        self.limiter = None if limits is None else Limiter(limits, clock or time.monotonic)
        return self.limiter

    # -- Host protocol --------------------------------------------------------------------------

    def webhook_changed(self, bot: BotAccount) -> None:
        bot.updates.changed.notify()
        if bot.webhook is None or self._client is None:
            return
        sender = self._senders.get(bot.id)
        if sender is None:
            sender = WebhookSender(
                bot,
                self._client,
                run_reply=self._run_webhook_reply,
                check_update=self._check_pushed_update,
                retry_delays=self.webhook_retry_delays,
                timeout=self.webhook_timeout,
                routes=self.webhook_routes,
                attempts=self.webhook_attempts,
                parallel=self.webhook_parallel,
            )
            self._senders[bot.id] = sender
        sender.start()

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.time()
        bot = self.world.bot_by_token(request.match_info["token"])
        name = request.match_info["method"]
        canonical = BY_LOWER_NAME.get(name.lower(), name)
        if bot is None:
            self._record(Request(canonical, {}, UNAUTHORIZED.payload(), at))
            return _json(UNAUTHORIZED.payload(), 401)
        method_spec = self.spec.method(name) if self.spec else None
        try:
            body = await _read_body(request, method_spec)
        except ApiError as error:
            self._record(Request(canonical, {}, error.payload(), at, bot.id))
            return _json(error.payload(), error.code)
        recorded, fault = await self._dispatch(bot, name, body, at)
        return await self._answer(request, recorded, fault)

    async def _answer(
        self, request: web.Request, recorded: Request, fault: Fault | None
    ) -> web.Response:
        """Send the recorded answer the way the fault (if any) says: late, broken or never."""
        answer = fault.answer if fault is not None else None
        if fault is not None and answer is Answer.SLOW and fault.when is When.AFTER:
            await asyncio.sleep(fault.seconds)
        if fault is not None and answer is Answer.HANG and self._stopped is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), fault.seconds)
        if answer in (Answer.DROP, Answer.HANG):
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=504)  # never reaches the client
        if answer is Answer.PAGE:
            return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
        return _json(recorded.response, recorded.response.get("error_code", 200))

    async def _dispatch(
        self, bot: BotAccount, name: str, body: _Body, at: float | None = None
    ) -> tuple[Request, Fault | None]:
        """Run one call with any injected fault, and record it before anything is answered."""
        at = time.time() if at is None else at
        canonical = BY_LOWER_NAME.get(name.lower(), name)
        params: dict[str, Any] = dict(body.raw)
        fault: Fault | None = None
        effect, outcome = False, None
        try:
            params = self._decode(canonical, body)
            fault = self.faults.take(canonical, params)
            if fault is not None and fault.answer is Answer.SLOW and fault.when is When.BEFORE:
                await asyncio.sleep(fault.seconds)
            if fault is None or fault.takes_effect:
                outcome = await self._perform(bot, canonical, params, body.uploads)
                effect = True
            response = fault.response(outcome) if fault else {"ok": True, "result": outcome}
        except ApiError as error:
            response = error.payload()
        recorded = Request(
            canonical,
            params,
            response,
            at,
            bot.id,
            answered=fault is None or fault.answered,
            effect=effect,
            outcome=outcome,
            fault=fault.label if fault is not None else None,
        )
        self._record(recorded)
        return recorded, fault

    def _record(self, recorded: Request) -> None:
        self.requests.append(recorded)

    async def _perform(
        self, bot: BotAccount, name: str, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> Any:
        if self.limiter is not None:
            self.limiter.charge(bot.id, name, params)
        return await self._call(bot, name, params, uploads)

    def _decode(self, name: str, body: _Body) -> dict[str, Any]:
        method_spec = self.spec.method(name) if self.spec else None
        if name not in HANDLERS:
            if self.spec is not None and method_spec is None:
                self.violations.append(f"{name}: no such Bot API method")
                raise METHOD_NOT_FOUND
            if method_spec is None:
                raise METHOD_NOT_FOUND
            self.violations.append(f"{name}: not implemented by the sandbox stand-in")
            raise bad_request(f"method {name} is not implemented by the sandbox stand-in")
        if self.spec is None or method_spec is None:
            return _loose_decode(body.raw)
        params, problems = self.spec.decode_params(
            method_spec, body.raw, form=body.form, uploads=body.uploads
        )
        if problems:
            self.violations.extend(problems)
            raise bad_request(problems[0])
        return params

    async def _call(
        self, bot: BotAccount, name: str, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> Any:
        result = await HANDLERS[name](Call(self, bot, name, params, uploads))
        method_spec = self.spec.method(name) if self.spec else None
        if self.check_output and self.spec is not None and method_spec is not None:
            self._report_output(self.spec.check_result(method_spec, result))
        return result

    def _report_output(self, problems: list[str]) -> None:
        """Record problems in the stand-in's own output, each once (updates are re-sent)."""
        for problem in problems:
            line = f"stand-in output: {problem}"
            if line not in self.violations:
                self.violations.append(line)

    async def _run_webhook_reply(self, bot: BotAccount, reply: MethodReply) -> None:
        await self._dispatch(bot, reply.method, _Body(reply.params, reply.uploads, reply.form))

    def _check_pushed_update(self, update: dict[str, Any]) -> None:
        if self.check_output and self.spec is not None:
            self._report_output(self.spec.check_object("Update", update))

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """A file download, recorded as the pseudo-method "file" with its `file_path`."""
        at = time.time()
        bot = self.world.bot_by_token(request.match_info["token"])
        path = request.match_info["path"]
        stored = self.world.files.by_path(path)
        if bot is None or stored is None:
            error = UNAUTHORIZED if bot is None else ApiError(404, "Not Found")
            bot_id = bot.id if bot is not None else None
            self._record(Request("file", {"file_path": path}, error.payload(), at, bot_id))
            return _json(error.payload(), error.code)
        result = {"file_path": path, "file_size": len(stored.data)}
        self._record(
            Request(
                "file",
                {"file_path": path},
                {"ok": True, "result": result},
                at,
                bot.id,
                effect=True,
                outcome=result,
            )
        )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


def _json(payload: Mapping[str, Any], status: int) -> web.Response:
    """A JSON answer; a flood error also carries `Retry-After`, as Telegram's does."""
    headers = {}
    if status == 429 and (retry_after := (payload.get("parameters") or {}).get("retry_after")):
        headers["Retry-After"] = str(retry_after)
    return web.json_response(payload, status=status, dumps=_dumps, headers=headers)


async def _read_body(request: web.Request, method_spec: MethodSpec | None) -> _Body:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    if request.content_type == "application/json" and request.can_read_body:
        try:
            data = json.loads(await request.read() or b"{}")
        except web.HTTPRequestEntityTooLarge:
            raise TOO_LARGE from None
        except ValueError:
            raise bad_request("can't parse JSON encoded request parameters") from None
        if not isinstance(data, dict):
            raise bad_request("JSON request body must be an object")
        return _Body(data, {}, form=False)
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.can_read_body:
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise TOO_LARGE from None
        for key, value in form.items():
            if isinstance(value, web.FileField):
                upload = Upload(key, value.file.read(), value.filename, value.content_type)
                if len(upload.data) > MAX_UPLOAD_BYTES:
                    raise TOO_LARGE
                uploads[key] = upload
                if method_spec is None or key in method_spec.params:
                    raw[key] = upload
            else:
                raw[key] = value
    return _Body(raw, uploads, form=True)


def _loose_decode(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Without a spec: JSON-looking form values become objects; the handlers read the rest."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        decoded[key] = value
    return decoded
