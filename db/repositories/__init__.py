"""Repositories own the SQL; services call them and decide when to commit."""

from db.repositories.dead_letters import DeadLetterRepository
from db.repositories.faq import FaqRepository
from db.repositories.updates import ProcessedUpdateRepository
from db.repositories.users import UserRepository

__all__ = [
    "DeadLetterRepository",
    "FaqRepository",
    "ProcessedUpdateRepository",
    "UserRepository",
]
