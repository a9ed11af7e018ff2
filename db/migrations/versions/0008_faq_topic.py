"""drafts and tickets remember the FAQ entry a question to staff came from

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("drafts", "tickets"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("faq_entry_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in ("tickets", "drafts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("faq_entry_id")
