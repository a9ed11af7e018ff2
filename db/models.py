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
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
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
    # When they were asked about announcements (asked once, after their first useful answer).
    news_asked_at: Mapped[datetime | None] = mapped_column()
    # A role granted in the database with /grant: "staff" or "admin" (STAFF_IDS and ADMIN_IDS
    # add to it). Kept on the row the middleware loads anyway, so a role check costs no query.
    role: Mapped[str | None] = mapped_column(String(16))
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
    # The FAQ entry the person was reading when they chose "Ask our staff", if any.
    faq_entry_id: Mapped[str | None] = mapped_column(String(64))
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
    faq_entry_id: Mapped[str | None] = mapped_column(String(64))  # the draft's FAQ topic
    # new | in_progress | resolved | closed (bot.services.lifecycle.Status)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set when the person's data was removed (/deleteme or retention): the case stays.
    anonymised_at: Mapped[datetime | None] = mapped_column()
    # The specialist handling it (a Telegram user id) and since when.
    taken_by: Mapped[int | None] = mapped_column(BigInteger, index=True)
    taken_at: Mapped[datetime | None] = mapped_column()
    # For statistics: first answer, resolution, and the user's rating (CSAT 1-5).
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    reopened_at: Mapped[datetime | None] = mapped_column()
    csat_score: Mapped[int | None] = mapped_column(SmallInteger)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column()
    # Who spoke last, for "waiting for an answer".
    last_user_message_at: Mapped[datetime | None] = mapped_column()
    last_staff_message_at: Mapped[datetime | None] = mapped_column()
    # A user who wrote after the reopen window started this ticket as a follow-up of that one.
    previous_ticket_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    # Once flagged for waiting too long without a first answer; last off-hours auto-reply.
    waiting_alert_at: Mapped[datetime | None] = mapped_column()
    off_hours_reply_at: Mapped[datetime | None] = mapped_column()
    # The status the topic's title shows now (None: as created); renamed sparingly to match.
    topic_status: Mapped[str | None] = mapped_column(String(16))
    topic_synced_at: Mapped[datetime | None] = mapped_column()

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
        # A staff reply to a copy finds its ticket (a staff group without topics).
        Index("ix_relayed_target", "target_chat_id", "target_message_id"),
        Index("ix_relayed_album", "source_chat_id", "media_group_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))  # to_staff | to_user
    # What it is (text, photo, document, voice, ...) and the start of its text or caption, as
    # plain text: the history re-posted in a re-created topic, and which edit applies.
    content: Mapped[str | None] = mapped_column(String(16))
    preview: Mapped[str | None] = mapped_column(String(300))
    # A part of an album: the parts are copied together, as one album, once it has gone quiet.
    media_group_id: Mapped[str | None] = mapped_column(String(64))
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
    __table_args__ = (
        # A staff reply to a card or an evidence copy finds its ticket (a group without topics).
        Index("ix_outbox_result", "chat_id", "result_message_id"),
        # What is unfinished in one conversation: whether a row is at its head (every claim
        # asks, for every candidate; without it a claim took 0.7 s at 12 000 rows, now 4 ms).
        Index("ix_outbox_conversation", "chat_id", "thread_id", "status"),
    )

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


class AuditEntry(Base):
    """An admin action: who did what, when, on what (shown by /audit)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(32))  # role.grant, broadcast.start, ...
    target: Mapped[str] = mapped_column(String(64))  # "user:123", "broadcast:7"
    details: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )


class Broadcast(Base):
    """An announcement to many people: composed (draft), then sent by the broadcast worker.

    `content` is JSON: {"*": message} for one message to all, or {"kk": message, ...} for one
    per language, where a message is {"kind": text|photo|document, "text": HTML,
    "file_id"?}. `audience` is JSON: {"kind": "all"} | {"kind": "languages", "languages":
    [...]} | {"kind": "ticket_kind", "ticket_kind": "..."}; only people who agreed to receive
    announcements are ever in it.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_by: Mapped[int] = mapped_column(BigInteger, index=True)
    # draft | running | paused | cancelled | done
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    per_language: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[str] = mapped_column(Text, default="{}")
    audience: Mapped[str] = mapped_column(Text, default="{}")
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The admin's live progress message, and the language it is written in.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    admin_language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class BroadcastRecipient(Base):
    """One person a broadcast goes to: sent at least once, leased while being sent."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_recipients_user"),
        Index("ix_broadcast_recipients_queue", "broadcast_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("broadcasts.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    # pending | sending | sent | failed | blocked | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Taken back after its worker died mid-send: that send may have reached the person.
    reclaimed: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    lease_until: Mapped[datetime | None] = mapped_column()
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()


class BroadcastPacer(Base):
    """The one global token bucket every broadcast worker (every replica) draws from."""

    __tablename__ = "broadcast_pacer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    stamp: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Flood control (a 429's retry_after) holds every send until then.
    paused_until: Mapped[datetime | None] = mapped_column()


class TicketEvent(Base):
    """What happened to a ticket and who did it (taken, assigned, resolved, closed, reopened,
    rated, noted): its history for staff and for the user's summary."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # staff or user; None: the bot
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CannedReply(Base):
    """A saved answer in all four languages; staff pick it, the user gets it in theirs."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    text_kk: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str] = mapped_column(Text)
    text_ko: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    def text(self, language: str) -> str:
        return {
            "kk": self.text_kk,
            "ru": self.text_ru,
            "ko": self.text_ko,
            "en": self.text_en,
        }.get(language, self.text_en)


class StaffHandle(Base):
    """A member of staff as the bot last saw them in the staff chat: `/assign @name` finds
    them here."""

    __tablename__ = "staff_handles"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64), index=True)  # lower case, no @
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class ProcessedUpdate(Base):
    """A Telegram update whose effects are committed: written in the same transaction as the
    first commit its handler makes, so a redelivered update (a lost 200, another replica)
    finds it and is skipped, and an update that committed nothing is handled again."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )
    # The handler returned after that commit (its reply went out); False after an outage
    # between the commit and the reply, so a redelivery shows the person where they stand.
    finished: Mapped[bool] = mapped_column(default=False, server_default=false())
