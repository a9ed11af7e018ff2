"""At start-up: can the bot work in the staff chat? Say clearly what is missing."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramMigrateToChat
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

log = logging.getLogger("ipdesk.staff_chat")


async def staff_chat_problems(bot: Bot, chat_id: int) -> list[str]:
    """What keeps the bot from running the desk in `chat_id` (empty: all is well)."""
    try:
        chat = await bot.get_chat(chat_id)
        me = await bot.me()
        member = await bot.get_chat_member(chat_id, me.id)
    except TelegramAPIError as error:
        return [f"the staff chat {chat_id} cannot be reached: {error.message}"]
    problems = []
    if not chat.is_forum:
        problems.append(
            f"the staff chat {chat_id} has no topics: turn on Topics in the group's settings"
        )
    if isinstance(member, ChatMemberOwner):
        return problems
    if not isinstance(member, ChatMemberAdministrator):
        problems.append(f"the bot is not an administrator of the staff chat {chat_id}")
    elif chat.is_forum and not member.can_manage_topics:
        problems.append(f"the bot may not manage topics in the staff chat {chat_id}")
    return problems


async def follow_staff_chat(bot: Bot, chat_id: int) -> int:
    """The staff chat's id now. A basic group upgraded to a supergroup has a new id, and
    Telegram answers the old one with `migrate_to_chat_id`; STAFF_CHAT_ID may still name it
    (the desk follows the move at run time, but only in memory)."""
    try:
        await bot.get_chat(chat_id)
    except TelegramMigrateToChat as moved:
        log.warning(
            "staff chat: the group was upgraded to a supergroup; following it "
            "(set STAFF_CHAT_ID to the new id)",
            extra={"old_chat_id": chat_id, "new_chat_id": moved.migrate_to_chat_id},
        )
        return moved.migrate_to_chat_id
    except TelegramAPIError:
        return chat_id  # check_staff_chat says what is wrong
    return chat_id


async def check_staff_chat(bot: Bot, chat_id: int | None) -> bool:
    if chat_id is None:
        log.warning("STAFF_CHAT_ID is not set: complaints are closed to users")
        return False
    problems = await staff_chat_problems(bot, chat_id)
    for problem in problems:
        log.error("staff chat: %s", problem)
    return not problems
