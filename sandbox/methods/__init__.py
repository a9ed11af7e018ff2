"""Bot API method handlers, by the method's name as the Bot API spells it."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.methods import bot, chats, messages
from sandbox.methods.call import Call, Handler, Host

HANDLERS: Mapping[str, Handler] = {**bot.HANDLERS, **chats.HANDLERS, **messages.HANDLERS}
BY_LOWER_NAME: Mapping[str, str] = {name.lower(): name for name in HANDLERS}

__all__ = ["BY_LOWER_NAME", "HANDLERS", "Call", "Handler", "Host"]
