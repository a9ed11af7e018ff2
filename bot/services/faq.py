"""FAQ browsing and answering: the entries, votes, and the log of typed questions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.faq.content import FaqBase, FaqCategory, FaqEntry
from db.models import FaqQuery
from db.repositories import FaqRepository

PAGE_SIZE = 8
# Where "how do I reach someone" points when staff cannot be asked through the bot.
CONTACTS_ENTRY = "contacts"
MAX_LOGGED_QUESTION = 1000


@dataclass(frozen=True, slots=True)
class Page:
    category: FaqCategory
    entries: tuple[FaqEntry, ...]
    number: int
    count: int


class FaqCatalogue:
    """Read-only navigation over the loaded FAQ base."""

    def __init__(self, base: FaqBase) -> None:
        self.base = base

    def __repr__(self) -> str:
        return f"FaqCatalogue({len(self.base)} entries)"

    def find(self, entry_id: str) -> FaqEntry | None:
        return self.base.by_id.get(entry_id)

    def title(self, entry_id: str | None, lang: str) -> str | None:
        """An entry's title in `lang`, or None for no entry (or one no longer in the base)."""
        entry = self.base.by_id.get(entry_id) if entry_id else None
        return entry.text(lang).title if entry is not None else None

    def find_category(self, category_id: str) -> FaqCategory | None:
        return next((c for c in self.base.categories if c.id == category_id), None)

    def page(self, category: FaqCategory, number: int) -> Page:
        count = max(1, -(-len(category.entries) // PAGE_SIZE))
        number = min(max(number, 0), count - 1)
        start = number * PAGE_SIZE
        return Page(category, category.entries[start : start + PAGE_SIZE], number, count)

    def page_of(self, entry: FaqEntry) -> int:
        category = self.base.category(entry.category)
        return category.entries.index(entry) // PAGE_SIZE

    def related(self, entry: FaqEntry, limit: int = 3) -> tuple[FaqEntry, ...]:
        found = (self.base.by_id.get(i) for i in entry.related)
        return tuple(e for e in found if e is not None)[:limit]


class FaqFeedbackService:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._repo = FaqRepository(session)

    async def vote(self, user_id: int, entry_id: str, helpful: bool) -> None:
        await self._repo.upsert_vote(user_id, entry_id, helpful)
        await self._session.commit()

    async def log_question(
        self,
        user_id: int | None,
        text: str,
        lang: str,
        outcome: str,
        entry_id: str | None,
        score: float,
    ) -> None:
        self._repo.add_query(
            FaqQuery(
                user_id=user_id,
                text=text[:MAX_LOGGED_QUESTION],
                lang=lang,
                outcome=outcome,
                entry_id=entry_id,
                score=round(score, 4),
            )
        )
        await self._session.commit()
