"""ticket lifecycle: status times, CSAT, follow-ups; canned replies, events, staff handles

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:54:35.651966
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("text_kk", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("text_ko", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("name", name=op.f("uq_canned_replies_name")),
    )
    op.create_table(
        "staff_handles",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("first_name", sa.String(length=256), nullable=False),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_handles")),
    )
    with op.batch_alter_table("staff_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_handles_username"), ["username"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("csat_score", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("csat_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_user_message_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_staff_message_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("previous_ticket_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("waiting_alert_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("off_hours_reply_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("topic_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("topic_synced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_previous_ticket_id"), ["previous_ticket_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_taken_by"), ["taken_by"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_previous_ticket_id_tickets"),
            "tickets",
            ["previous_ticket_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_previous_ticket_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_taken_by"))
        batch_op.drop_index(batch_op.f("ix_tickets_previous_ticket_id"))
        batch_op.drop_column("topic_synced_at")
        batch_op.drop_column("topic_status")
        batch_op.drop_column("off_hours_reply_at")
        batch_op.drop_column("waiting_alert_at")
        batch_op.drop_column("previous_ticket_id")
        batch_op.drop_column("last_staff_message_at")
        batch_op.drop_column("last_user_message_at")
        batch_op.drop_column("rated_at")
        batch_op.drop_column("csat_comment")
        batch_op.drop_column("csat_score")
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("taken_at")
        batch_op.drop_column("taken_by")

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("staff_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_handles_username"))

    op.drop_table("staff_handles")
    op.drop_table("canned_replies")
