"""Filing a complaint: the draft, answer by answer, and the ticket it becomes.

Every answer is written to the draft row as it is given; the dialog state outside the database
is only the name of the step. Submitting turns the draft into a ticket in one transaction; the
draft's UUID is unique on tickets, so a double-tapped Confirm or a redelivered update files once.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Draft, DraftAttachment, Ticket, TicketAttachment, User, utcnow

# A Confirm pressed again this soon after its draft was filed shows that ticket's receipt: the
# first receipt may never have arrived (the process died after the commit, before the send,
# and Telegram's redelivery of the press is skipped as handled).
RECEIPT_AGAIN_WITHIN = timedelta(hours=1)


class Kind(StrEnum):
    COUNTERFEIT = "counterfeit"
    ONLINE = "online"
    CUSTOMS = "customs"
    PROCEDURE = "procedure"
    OTHER = "other"


class Right(StrEnum):
    TRADEMARK = "trademark"
    PATENT = "patent"
    DESIGN = "design"
    COPYRIGHT = "copyright"


class Step(StrEnum):
    """The questions, in the order they are asked."""

    KIND = "kind"
    RIGHT = "right"
    REGISTRATION = "registration"
    LOCATION = "location"
    DESCRIPTION = "description"
    COMPANY = "company"
    CONTACT = "contact"
    EVIDENCE = "evidence"
    CONSENT = "consent"
    SUMMARY = "summary"


ORDER: tuple[Step, ...] = tuple(Step)
# The steps answered by typing (the others by buttons, or with files).
TEXT_STEPS = (Step.REGISTRATION, Step.LOCATION, Step.DESCRIPTION, Step.COMPANY, Step.CONTACT)
ATTACHMENT_KINDS = ("photo", "document", "video")
MAX_ATTACHMENTS = 20


class Invalid(StrEnum):
    """Why an answer was refused; the handler shows the matching translated hint."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BAD_REGISTRATION = "bad_registration"
    BAD_CONTACT = "bad_contact"
    UNKNOWN_CHOICE = "unknown_choice"
    TOO_MANY_FILES = "too_many_files"


@dataclass(frozen=True, slots=True)
class Limits:
    min: int
    max: int


# Lengths as Telegram counts them: UTF-16 code units (an emoji is two). The summary and the
# staff card show every answer in one message (at most 4096), so together the maxima leave
# room for their labels in every language.
TEXT_LIMITS: dict[Step, Limits] = {
    Step.REGISTRATION: Limits(1, 64),
    Step.LOCATION: Limits(3, 500),
    Step.DESCRIPTION: Limits(10, 2500),
    Step.COMPANY: Limits(2, 256),
    Step.CONTACT: Limits(5, 256),
}
# Direction overrides, embeddings and isolates: they make staff read a line backwards
# ("ACME\u202egpj.exe") and no keyboard types them. Right-to-left marks stay.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# Letters that look like nothing (Hangul fillers, the blank Braille pattern).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_REGISTRATION = re.compile(r"^[\w\s./№#-]+$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?\d[\d\s()-]{6,}")


class AnswerError(ValueError):
    def __init__(self, reason: Invalid, limits: Limits | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.limits = limits


def next_step(step: Step) -> Step:
    return ORDER[min(ORDER.index(step) + 1, len(ORDER) - 1)]


def telegram_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(text: str) -> int:
    """Characters that show: no spaces, zero-width or other format characters, blank letters."""
    return sum(
        1
        for char in text
        if not char.isspace()
        and unicodedata.category(char) not in ("Cc", "Cf")
        and char not in _BLANK_LETTERS
    )


def clean_text(step: Step, raw: str) -> str:
    """The answer as stored, or AnswerError saying why it cannot be."""
    raw = raw.translate(_BIDI_CONTROLS)
    value = " ".join(raw.split()) if step is not Step.DESCRIPTION else raw.strip()
    limits = TEXT_LIMITS[step]
    if visible_length(value) < limits.min:
        raise AnswerError(Invalid.TOO_SHORT, limits)
    if telegram_length(value) > limits.max:
        raise AnswerError(Invalid.TOO_LONG, limits)
    if step is Step.REGISTRATION and not _REGISTRATION.match(value):
        raise AnswerError(Invalid.BAD_REGISTRATION, limits)
    if step is Step.CONTACT and not (_EMAIL.search(value) or _PHONE.search(value)):
        raise AnswerError(Invalid.BAD_CONTACT, limits)
    return value


class IntakeService:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_draft(self, user_id: int) -> Draft | None:
        """The person's unfinished draft, newest first."""
        return await self._session.scalar(
            select(Draft)
            .where(Draft.user_id == user_id, Draft.submitted_at.is_(None))
            .order_by(Draft.created_at.desc())
            .limit(1)
        )

    async def just_filed(self, user_id: int) -> Ticket | None:
        """The ticket of the person's latest draft, if it was filed within
        `RECEIPT_AGAIN_WITHIN` (and no draft is open: the caller asks when there is none)."""
        return await self._session.scalar(
            select(Ticket)
            .join(Draft, Draft.id == Ticket.draft_id)
            .where(
                Draft.user_id == user_id,
                Draft.submitted_at >= utcnow() - RECEIPT_AGAIN_WITHIN,
            )
            .order_by(Draft.submitted_at.desc())
            .limit(1)
        )

    async def start(
        self, user_id: int, *, kind: Kind | None = None, faq_entry_id: str | None = None
    ) -> Draft:
        """A fresh draft (an older unfinished one is discarded)."""
        old = await self.open_draft(user_id)
        if old is not None:
            await self._session.delete(old)
        draft = Draft(
            id=str(uuid.uuid4()), user_id=user_id, step=Step.KIND, faq_entry_id=faq_entry_id
        )
        if kind is not None:
            draft.kind, draft.step = kind, Step.RIGHT
        self._session.add(draft)
        await self._session.commit()
        return draft

    async def ask_staff(self, user_id: int, faq_entry_id: str | None) -> Draft:
        """The "Ask our staff" button under an FAQ answer: a question to staff about it.

        An unfinished draft is picked up where it was left (its answers are kept) and now
        refers to the entry the person was just reading; otherwise a new procedure question
        starts. `faq_entry_id` None (asked from "I'm not sure") leaves any topic as it was.
        """
        draft = await self.open_draft(user_id)
        if draft is None:
            return await self.start(user_id, kind=Kind.PROCEDURE, faq_entry_id=faq_entry_id)
        if faq_entry_id is not None and draft.faq_entry_id != faq_entry_id:
            draft.faq_entry_id = faq_entry_id
            draft.updated_at = utcnow()
            await self._session.commit()
        return draft

    async def choose(self, draft: Draft, step: Step, value: str) -> Step:
        """A button answer (kind, right)."""
        try:
            if step is Step.KIND:
                draft.kind = Kind(value)
            elif step is Step.RIGHT:
                draft.right = Right(value)
            else:
                raise AnswerError(Invalid.UNKNOWN_CHOICE)
        except ValueError as exc:
            raise AnswerError(Invalid.UNKNOWN_CHOICE) from exc
        return await self._advance(draft, step)

    async def answer(self, draft: Draft, step: Step, raw: str) -> Step:
        """A typed answer; AnswerError leaves the draft as it was."""
        value = clean_text(step, raw)
        column = {
            Step.REGISTRATION: "registration_number",
            Step.LOCATION: "location",
            Step.DESCRIPTION: "description",
            Step.COMPANY: "company",
            Step.CONTACT: "contact",
        }[step]
        setattr(draft, column, value)
        return await self._advance(draft, step)

    async def skip(self, draft: Draft, step: Step) -> Step:
        """Optional questions (registration number, evidence) can be skipped."""
        if step not in (Step.REGISTRATION, Step.EVIDENCE):
            raise AnswerError(Invalid.UNKNOWN_CHOICE)
        return await self._advance(draft, step)

    async def add_attachment(
        self,
        draft: Draft,
        *,
        kind: str,
        file_id: str,
        file_unique_id: str,
        media_group_id: str | None,
        source_message_id: int,
    ) -> int:
        """Store one piece of evidence; returns how many the draft now has."""
        count = len(await self.attachments(draft))
        if count >= MAX_ATTACHMENTS:
            raise AnswerError(Invalid.TOO_MANY_FILES)
        part = DraftAttachment(
            draft_id=draft.id,
            kind=kind,
            file_id=file_id,
            file_unique_id=file_unique_id,
            media_group_id=media_group_id,
            source_message_id=source_message_id,
        )
        try:
            async with self._session.begin_nested():
                self._session.add(part)
        except IntegrityError:  # the same message again (a redelivered update)
            return count
        draft.updated_at = utcnow()  # still at work: no reminder yet
        await self._session.commit()
        return count + 1

    async def album_counts(self, draft_id: str, media_group_id: str) -> tuple[int, int]:
        """(parts of this album, all files) stored in the draft."""
        rows = (
            await self._session.scalars(
                select(DraftAttachment.media_group_id).where(DraftAttachment.draft_id == draft_id)
            )
        ).all()
        return sum(1 for group in rows if group == media_group_id), len(rows)

    async def attachments(self, draft: Draft) -> list[DraftAttachment]:
        rows = await self._session.scalars(
            select(DraftAttachment)
            .where(DraftAttachment.draft_id == draft.id)
            .order_by(DraftAttachment.id)
        )
        return list(rows)

    async def consent(self, draft: Draft) -> Step:
        draft.consent_at = utcnow()
        return await self._advance(draft, Step.CONSENT)

    async def edit(self, draft: Draft, step: Step) -> None:
        """Go back to one question from the summary; answering it returns to the summary."""
        draft.step = step
        draft.updated_at = utcnow()
        await self._session.commit()

    async def cancel(self, draft: Draft) -> None:
        await self._session.delete(draft)
        await self._session.commit()

    async def submit(self, draft: Draft, user: User) -> Ticket:
        """The ticket, stored and committed before anyone is told; filing twice files once."""
        existing = await self._ticket_of(draft.id)
        if existing is not None:
            return existing
        if not is_complete(draft):
            raise AnswerError(Invalid.TOO_SHORT)
        ticket = Ticket(
            draft_id=draft.id,
            user_id=user.id,
            language=user.language,
            kind=draft.kind or Kind.OTHER,
            right=draft.right or "",
            registration_number=draft.registration_number,
            location=draft.location or "",
            description=draft.description or "",
            company=draft.company or "",
            contact=draft.contact or "",
            faq_entry_id=draft.faq_entry_id,
        )
        try:
            async with self._session.begin_nested():
                self._session.add(ticket)
        except IntegrityError:  # a concurrent Confirm filed it first
            winner = await self._ticket_of(draft.id)
            assert winner is not None
            return winner
        for part in await self.attachments(draft):
            self._session.add(
                TicketAttachment(
                    ticket_id=ticket.id,
                    kind=part.kind,
                    file_id=part.file_id,
                    file_unique_id=part.file_unique_id,
                    media_group_id=part.media_group_id,
                    source_message_id=part.source_message_id,
                )
            )
        draft.submitted_at = utcnow()
        draft.step = Step.SUMMARY
        user.active_ticket_id = ticket.id
        await self._session.commit()
        return ticket

    async def open_dialogs(self) -> list[tuple[int, Step]]:
        """(person, step) of every unfinished draft: where each dialog stands."""
        rows = await self._session.execute(
            select(Draft.user_id, Draft.step)
            .where(Draft.submitted_at.is_(None))
            .order_by(Draft.created_at)
        )
        return [(user_id, Step(step)) for user_id, step in rows]

    async def _ticket_of(self, draft_id: str) -> Ticket | None:
        return await self._session.scalar(select(Ticket).where(Ticket.draft_id == draft_id))

    async def _advance(self, draft: Draft, step: Step) -> Step:
        # Once everything is answered (also after an edit from the summary), back to the summary.
        following = Step.SUMMARY if is_complete(draft) else next_step(step)
        draft.step = following
        draft.updated_at = utcnow()
        await self._session.commit()
        return following


def is_complete(draft: Draft) -> bool:
    required = (draft.kind, draft.right, draft.location, draft.description, draft.company)
    return all(required) and draft.contact is not None and draft.consent_at is not None
