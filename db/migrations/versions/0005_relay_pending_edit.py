"""relayed messages keep an early edit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:20:34.657642
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_edit", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.drop_column("pending_edit")
