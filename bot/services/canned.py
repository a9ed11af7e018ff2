"""Saved replies: written once in all four languages, sent to each user in theirs.

Admins write one in a single message, a block per language:

    /canned_add documents
    kk: Құжаттардың көшірмесін жіберіңіз...
    ru: Пришлите, пожалуйста, копии документов...
    ko: 서류 사본을 보내 주십시오...
    en: Please send copies of the documents...

A block runs until the next `xx:` line, so a reply may span several lines. Texts are stored as
written (plain text) and escaped when sent.
"""

from __future__ import annotations

import re
from enum import StrEnum
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES
from bot.services.outbox import PRIORITY_RELAY, Kind, Outbox
from db.models import CannedReply, Ticket, User, utcnow
from db.repositories.canned import CannedRepository

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_BLOCK = re.compile(r"^\s*(kk|ru|ko|en)\s*[:：]\s?(.*)$", re.IGNORECASE)
MAX_TEXT = 3500  # the rest of Telegram's 4096 is room for escaping


class Problem(StrEnum):
    BAD_NAME = "bad_name"
    NO_TEXT = "no_text"  # no "xx:" block at all
    MISSING = "missing"  # a new reply lacks some languages
    TOO_LONG = "too_long"
    EXISTS = "exists"
    UNKNOWN = "unknown"


class CannedError(ValueError):
    def __init__(self, problem: Problem, missing: tuple[str, ...] = ()) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.missing = missing


def parse(args: str | None) -> tuple[str, dict[str, str]]:
    """`name` and the texts by language from a command's arguments (texts may be empty)."""
    head, _, body = (args or "").strip().partition("\n")
    name, _, rest = head.strip().partition(" ")
    name = name.lower().lstrip("#")
    if not NAME.match(name):
        raise CannedError(Problem.BAD_NAME)
    texts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in [rest, *body.splitlines()]:
        block = _BLOCK.match(line)
        if block:
            current = texts.setdefault(block[1].lower(), [])
            current.append(block[2])
        elif current is not None:
            current.append(line)
    cleaned = {lang: "\n".join(lines).strip() for lang, lines in texts.items()}
    cleaned = {lang: text for lang, text in cleaned.items() if text}
    if any(len(text) > MAX_TEXT for text in cleaned.values()):
        raise CannedError(Problem.TOO_LONG)
    return name, cleaned


class CannedLibrary:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._replies = CannedRepository(session)

    async def all(self) -> list[CannedReply]:
        return await self._replies.all()

    async def get(self, reply_id: int) -> CannedReply | None:
        return await self._replies.get(reply_id)

    async def add(self, args: str | None, actor_id: int) -> CannedReply:
        name, texts = parse(args)
        missing = tuple(lang for lang in LANGUAGES if lang not in texts)
        if not texts:
            raise CannedError(Problem.NO_TEXT)
        if missing:
            raise CannedError(Problem.MISSING, missing)
        if await self._replies.by_name(name) is not None:
            raise CannedError(Problem.EXISTS)
        reply = CannedReply(name=name, created_by=actor_id, **_columns(texts))
        self._replies.add(reply)
        await self._session.commit()
        return reply

    async def edit(self, args: str | None) -> CannedReply:
        """Replace the languages given; the others stay as they were."""
        name, texts = parse(args)
        if not texts:
            raise CannedError(Problem.NO_TEXT)
        reply = await self._replies.by_name(name)
        if reply is None:
            raise CannedError(Problem.UNKNOWN)
        for column, text in _columns(texts).items():
            setattr(reply, column, text)
        reply.updated_at = utcnow()
        await self._session.commit()
        return reply

    async def remove(self, args: str | None) -> str:
        name = (args or "").strip().lower().lstrip("#")
        reply = await self._replies.by_name(name) if NAME.match(name) else None
        if reply is None:
            raise CannedError(Problem.UNKNOWN)
        await self._replies.delete(reply)
        await self._session.commit()
        return name

    async def send(self, reply: CannedReply, ticket: Ticket) -> tuple[str, str]:
        """Queue the reply for the ticket's user in their language; (language, text) sent.
        Commits (with whatever the caller changed in the session)."""
        if ticket.user_id is None:
            raise CannedError(Problem.UNKNOWN)
        user = await self._session.get(User, ticket.user_id)
        language = user.language if user is not None else ticket.language
        text = reply.text(language)
        Outbox(self._session).enqueue(
            Kind.TEXT,
            ticket.user_id,
            {"text": escape(text)},
            priority=PRIORITY_RELAY,
            ticket_id=ticket.id,
        )
        ticket.updated_at = utcnow()
        await self._session.commit()
        return language, text


def _columns(texts: dict[str, str]) -> dict[str, str]:
    return {f"text_{lang}": text for lang, text in texts.items()}
