"""Schema migrations (Alembic), run by `python -m bot migrate` and before `make run`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.config import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "db" / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Kept out of the ini options: a URL with a password must not be interpolated or logged.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
