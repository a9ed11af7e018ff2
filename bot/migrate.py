"""Schema migrations (Alembic), run by `python -m bot migrate` and before `make run`.

Every replica runs `migrate` as it starts. On PostgreSQL the migration holds a transaction
advisory lock, so replicas starting together migrate one after the other: the first brings the
schema up to date, the others then find nothing to do. (PostgreSQL's DDL is transactional: a
migration that fails leaves the schema as it was.)
"""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from bot.config import REPO_ROOT
from db.engine import create_engine

MIGRATIONS_DIR = REPO_ROOT / "db" / "migrations"
# pg_advisory_xact_lock's key: any fixed 64-bit number, the same for every replica.
ADVISORY_LOCK_KEY = 0x1D_DE5C_0001


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Kept out of the ini options: a URL with a password must not be interpolated or logged.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    if make_url(database_url).get_backend_name() == "postgresql":
        asyncio.run(_upgrade_locked(database_url, revision))
    else:
        command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def _upgrade_locked(database_url: str, revision: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            # Held until the commit below; a replica waiting here then sees the new version.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            await conn.run_sync(_upgrade_on, database_url, revision)
            await conn.commit()
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
