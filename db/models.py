"""Typed SQLAlchemy 2 models. One module, so "what is stored" is answered in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use db.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class User(Base):
    """A person who wrote to the bot. The primary key is their Telegram user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    # The language the bot speaks to them (kk, ru, ko, en) and Telegram's own code at first contact.
    language: Mapped[str] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    # When they agreed to personal-data processing (asked when they file a complaint).
    consent_at: Mapped[datetime | None] = mapped_column()
    # None: not asked yet; True/False: their answer.
    news_opt_in: Mapped[bool | None] = mapped_column(Boolean)
    # The first /start deep-link payload, e.g. "faq-trademark-fees" (where users come from).
    start_payload: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Set when Telegram answers 403 "bot was blocked by the user"; cleared when they write again.
    blocked_at: Mapped[datetime | None] = mapped_column()
    # While set, the person's free text is relayed to staff on this ticket (conventions).
    active_ticket_id: Mapped[int | None] = mapped_column(Integer)


class DeadLetter(Base):
    """An update whose handler raised: kept for a human, answered 200 so it is not redelivered."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    update_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class FaqFeedback(Base):
    """A 👍 or 👎 under an FAQ answer; one vote per person and entry, the last one counts."""

    __tablename__ = "faq_feedback"
    __table_args__ = (UniqueConstraint("user_id", "entry_id", name="uq_faq_feedback_user_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class FaqQuery(Base):
    """A typed question and what the bot made of it; unanswered ones show staff what to add."""

    __tablename__ = "faq_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(String(1000))
    lang: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # answer|ambiguous|none|greeting
    entry_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )


class Draft(Base):
    """A complaint being filled in. Each answer is stored as it is given (the FSM keeps only
    the step), so a restart or a Redis outage loses nothing; the UUID makes filing idempotent."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(32))
    right: Mapped[str | None] = mapped_column(String(32))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(256))
    contact: Mapped[str | None] = mapped_column(String(256))
    consent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    reminded_at: Mapped[datetime | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()


class DraftAttachment(Base):
    """Evidence sent during intake; album parts share their media_group_id."""

    __tablename__ = "draft_attachments"
    __table_args__ = (
        UniqueConstraint("draft_id", "source_message_id", name="uq_draft_attachments_message"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("drafts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # photo, document, video
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    media_group_id: Mapped[str | None] = mapped_column(String(64), index=True)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Ticket(Base):
    """A filed complaint. Shown as IP-{year}-{id:06d}; the id is never reused or reset."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    right: Mapped[str] = mapped_column(String(32))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text)
    company: Mapped[str] = mapped_column(String(256))
    contact: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column()

    @property
    def number(self) -> str:
        return f"IP-{self.created_at.year}-{self.id:06d}"


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    # The user's own message (in their private chat with the bot), copied into the topic.
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)


class RelayedMessage(Base):
    """One message carried between a user and staff; unique on its source, so a redelivered
    update is relayed once."""

    __tablename__ = "relayed_messages"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_relayed_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))  # to_staff | to_user
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # An edit of the source that came before the copy was delivered; applied on delivery.
    pending_edit: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class OutboxMessage(Base):
    """A send that must happen and may be retried, written in the same transaction as the
    effect it announces and drained by the outbox worker."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # what to call: text, copy, ...
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # JSON: the call's parameters
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower first: cards first
    ticket_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    relay_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("relayed_messages.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    result_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column()


class ProcessedUpdate(Base):
    """A Telegram update whose effects are committed: written in the same transaction as the
    first commit its handler makes, so a redelivered update (a lost 200, another replica)
    finds it and is skipped, and an update that committed nothing is handled again."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )
