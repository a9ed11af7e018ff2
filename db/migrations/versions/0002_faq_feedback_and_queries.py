"""faq feedback and queries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:15:04.845620
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_faq_feedback_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_feedback")),
        sa.UniqueConstraint("user_id", "entry_id", name=op.f("uq_faq_feedback_user_entry")),
    )
    with op.batch_alter_table("faq_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_feedback_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_feedback_user_id"), ["user_id"], unique=False)

    op.create_table(
        "faq_queries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_faq_queries_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_queries")),
    )
    with op.batch_alter_table("faq_queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_queries_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_queries_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_queries_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("faq_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_queries_user_id"))
        batch_op.drop_index(batch_op.f("ix_faq_queries_outcome"))
        batch_op.drop_index(batch_op.f("ix_faq_queries_created_at"))

    op.drop_table("faq_queries")
    with op.batch_alter_table("faq_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_feedback_user_id"))
        batch_op.drop_index(batch_op.f("ix_faq_feedback_entry_id"))

    op.drop_table("faq_feedback")
