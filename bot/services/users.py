"""Who the bot is talking to: first contact, language, deep-link source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import is_supported, pick_language
from db.models import User, utcnow
from db.repositories import UserRepository

# last_seen_at is refreshed at most this often, so an ordinary update costs one read, no write.
TOUCH_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Profile:
    """What Telegram tells us about a person, without aiogram's types."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._users = UserRepository(session)

    async def find(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def on_contact(self, profile: Profile, *, now: datetime | None = None) -> User:
        """Load the person, creating them on first contact; writes only when something changed."""
        now = now or utcnow()
        user = await self._users.get(profile.id)
        if user is None:
            user = self._users.add(
                User(
                    id=profile.id,
                    first_name=profile.first_name[:256],
                    username=profile.username,
                    language=pick_language(profile.language_code),
                    telegram_language=profile.language_code,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            await self._session.commit()
            return user
        changed = (
            user.first_name != profile.first_name[:256]
            or user.username != profile.username
            or user.blocked_at is not None
            or user.last_seen_at + TOUCH_INTERVAL < now
        )
        if changed:
            user.first_name = profile.first_name[:256]
            user.username = profile.username
            user.blocked_at = None
            user.last_seen_at = now
            await self._session.commit()
        # Unchanged, the read transaction goes on into the handler: its first write commits
        # both (one round trip fewer), and `ShortTransactions` ends it before any Telegram
        # call, so the pool's connections are never held while the bot talks to Telegram.
        return user

    async def set_language(self, user: User, language: str) -> None:
        if not is_supported(language):
            raise ValueError(f"unsupported language {language!r}")
        user.language = language
        await self._session.commit()

    async def remember_start_payload(self, user: User, payload: str) -> None:
        """Keep the first deep-link payload a person arrived with (where users come from)."""
        if user.start_payload is None:
            user.start_payload = payload[:64]
            await self._session.commit()
