"""The bot itself: identity, updates (polling and webhook), commands, descriptions, name."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from sandbox.errors import bad_request, conflict
from sandbox.methods.call import Call, Handler
from sandbox.state import ChatType, Webhook

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MAX_POLL_TIMEOUT = 50
_TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
_WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)


async def get_me(call: Call) -> dict[str, Any]:
    return call.bot.me()


async def log_out(call: Call) -> bool:
    return True


async def get_updates(call: Call) -> list[dict[str, Any]]:
    bot, queue = call.bot, call.bot.updates
    if bot.webhook is not None:
        raise conflict(_WEBHOOK_ACTIVE)
    queue.set_allowed(call.sequence("allowed_updates"))
    if (offset := call.optional_integer("offset")) is not None:
        queue.confirm(offset)
    limit = min(max(call.optional_integer("limit") or 100, 1), 100)
    timeout = min(max(call.optional_integer("timeout") or 0, 0), _MAX_POLL_TIMEOUT)
    generation = queue.new_poll()

    def done() -> bool:
        superseded = queue.poll_generation != generation
        return bool(queue.pending) or superseded or bot.webhook is not None or call.host.closing

    await queue.changed.wait_until(done, timeout)
    if queue.poll_generation != generation:
        raise conflict(_TERMINATED)
    if bot.webhook is not None:
        raise conflict("terminated by setWebhook request")
    return queue.peek(limit)


async def set_webhook(call: Call) -> bool:
    url = call.string("url")
    if not url:
        return await delete_webhook(call)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise bad_request("bad webhook: HTTPS url must be provided for webhook")
    secret = call.optional_string("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    if call.flag("drop_pending_updates"):
        call.bot.updates.clear()
    call.bot.updates.set_allowed(call.sequence("allowed_updates"))
    previous = call.bot.webhook
    call.bot.webhook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=call.optional_integer("max_connections") or 40,
        allowed_updates=call.sequence("allowed_updates"),
        ip_address=call.optional_string("ip_address"),
        last_error_date=previous.last_error_date if previous else None,
        last_error_message=previous.last_error_message if previous else None,
    )
    call.host.webhook_changed(call.bot)
    return True


async def delete_webhook(call: Call) -> bool:
    if call.flag("drop_pending_updates"):
        call.bot.updates.clear()
    call.bot.webhook = None
    call.host.webhook_changed(call.bot)
    return True


async def get_webhook_info(call: Call) -> dict[str, Any]:
    hook = call.bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(call.bot.updates.pending),
    }
    if hook is None:
        return info
    info["max_connections"] = hook.max_connections
    optional = {
        "ip_address": hook.ip_address,
        "last_error_date": hook.last_error_date,
        "last_error_message": hook.last_error_message,
        "allowed_updates": hook.allowed_updates,
    }
    info.update({key: value for key, value in optional.items() if value is not None})
    return info


# -- commands -----------------------------------------------------------------------------------


def _language(call: Call) -> str:
    code = call.get("language_code", "")
    if code and not _LANGUAGE_RE.fullmatch(code):
        raise bad_request("invalid language code specified")
    return str(code)


def _scope_key(call: Call) -> str:
    scope = call.mapping("scope") or {"type": "default"}
    kind = scope.get("type", "default")
    if kind not in ("chat", "chat_administrators", "chat_member"):
        return str(kind)
    chat = call.world.chat_for_bot(call.bot, scope.get("chat_id", 0))
    if chat is None:
        raise bad_request("chat not found")
    if kind == "chat_administrators" and chat.type is ChatType.PRIVATE:
        raise bad_request("can't use chat_administrators scope in private chats")
    if kind == "chat_member":
        return f"chat_member:{chat.id}:{scope.get('user_id')}"
    return f"{kind}:{chat.id}"


def scope_key(kind: str, chat_id: int | None = None, user_id: int | None = None) -> str:
    """The key commands are stored under, for readers outside this module."""
    if kind == "chat_member":
        return f"chat_member:{chat_id}:{user_id}"
    return kind if chat_id is None else f"{kind}:{chat_id}"


async def set_my_commands(call: Call) -> bool:
    commands = call.sequence("commands") or []
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        if not _COMMAND_RE.fullmatch(command.get("command", "")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command.get("description", "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = (_scope_key(call), _language(call))
    if commands:
        call.bot.commands[key] = [dict(c) for c in commands]
    else:
        call.bot.commands.pop(key, None)
    return True


async def get_my_commands(call: Call) -> list[dict[str, Any]]:
    return call.bot.commands.get((_scope_key(call), _language(call)), [])


async def delete_my_commands(call: Call) -> bool:
    call.bot.commands.pop((_scope_key(call), _language(call)), None)
    return True


# -- menu button --------------------------------------------------------------------------------


async def set_chat_menu_button(call: Call) -> bool:
    button = call.mapping("menu_button")
    if call.has("chat_id"):
        call.chat().menu_button = button
    else:
        call.bot.menu_button = button
    return True


async def get_chat_menu_button(call: Call) -> dict[str, Any]:
    chat_button = call.chat().menu_button if call.has("chat_id") else None
    return chat_button or call.bot.menu_button or {"type": "default"}


# -- descriptions and name ----------------------------------------------------------------------


def _setter(attribute: str, param: str, limit: int) -> Handler:
    async def set_text(call: Call) -> bool:
        value = call.get(param, "")
        if len(value) > limit:
            raise bad_request(f"{param} is too long")
        store: dict[str, str] = getattr(call.bot, attribute)
        if value:
            store[_language(call)] = value
        else:
            store.pop(_language(call), None)
        return True

    return set_text


def _getter(attribute: str, field: str) -> Handler:
    async def get_text(call: Call) -> dict[str, Any]:
        store: dict[str, str] = getattr(call.bot, attribute)
        value = store.get(_language(call), "")
        if field == "name" and not value:
            value = store.get("", call.bot.user.first_name)
        return {field: value}

    return get_text


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "logOut": log_out,
    "close": log_out,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "setMyDescription": _setter("descriptions", "description", 512),
    "getMyDescription": _getter("descriptions", "description"),
    "setMyShortDescription": _setter("short_descriptions", "short_description", 120),
    "getMyShortDescription": _getter("short_descriptions", "short_description"),
    "setMyName": _setter("names", "name", 64),
    "getMyName": _getter("names", "name"),
}
