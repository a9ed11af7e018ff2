"""News consent: whether a person receives announcements (broadcasts).

Asked once, after their first useful answer; changeable any time in /settings and with the
Unsubscribe button under every announcement.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, utcnow


class NewsConsent:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_question(self, user: User) -> bool:
        """True once per person: the moment to ask them (recorded before they are asked)."""
        if user.news_asked_at is not None or user.news_opt_in is not None:
            return False
        user.news_asked_at = utcnow()
        await self._session.commit()
        return True

    async def set(self, user: User, opt_in: bool) -> None:
        user.news_opt_in = opt_in
        if user.news_asked_at is None:
            user.news_asked_at = utcnow()
        await self._session.commit()
