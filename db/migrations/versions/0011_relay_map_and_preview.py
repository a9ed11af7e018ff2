"""relayed messages: content, preview, album; lookups of a staff reply's ticket; an index
for the outbox's conversations

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("preview", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("media_group_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_relayed_target", ["target_chat_id", "target_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_relayed_album", ["source_chat_id", "media_group_id"], unique=False
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_result", ["chat_id", "result_message_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_conversation", ["chat_id", "thread_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_conversation")
        batch_op.drop_index("ix_outbox_result")
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_relayed_album")
        batch_op.drop_index("ix_relayed_target")
        batch_op.drop_column("media_group_id")
        batch_op.drop_column("preview")
        batch_op.drop_column("content")
