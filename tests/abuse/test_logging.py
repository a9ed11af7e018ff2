"""Logging must never be what fails: a record's `extra` may not reuse a LogRecord attribute
(logging raises KeyError for "thread", "message", ... but only when the level is enabled, so a
test suite at WARNING never sees it and production at INFO fails on every call)."""

from __future__ import annotations

import ast
import logging

import pytest
from sqlalchemy import select

from bot.config import REPO_ROOT
from db.models import DeadLetter
from tests.abuse.support import file_ticket
from tests.conftest import RunningBot

RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def extra_keys() -> list[tuple[str, int, str]]:
    """Every string key of an `extra={...}` literal in the bot's code: (file, line, key)."""
    found = []
    for package in ("bot", "handlers", "db"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.keyword) or node.arg != "extra":
                    continue
                if isinstance(node.value, ast.Dict):
                    for key in node.value.keys:
                        if isinstance(key, ast.Constant) and isinstance(key.value, str):
                            found.append((str(path.relative_to(REPO_ROOT)), key.lineno, key.value))
    return found


def test_no_log_call_overwrites_a_record_attribute() -> None:
    keys = extra_keys()
    assert keys, "no extra= found: the scan is broken"
    assert [k for k in keys if k[2] in RESERVED] == []


@pytest.fixture
def info_logging() -> object:
    """Production's level: INFO records are made (and their extras checked)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    yield
    root.setLevel(level)


async def test_a_complaint_files_cleanly_with_info_logging(
    info_logging: object, desk_app: RunningBot
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await file_ticket(desk_app, user)
    assert ticket.topic_id is not None
    async with desk_app.resources.sessionmaker() as session:
        assert list(await session.scalars(select(DeadLetter.error))) == []
    assert not any(
        m.get("text", "").startswith("Sorry, something went wrong")
        for m in desk_app.stand.delivered(user.chat_id)
    )
