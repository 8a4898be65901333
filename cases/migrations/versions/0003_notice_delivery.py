"""notice_delivery (issue 7): notice deliveries (one per case and notice type) and their attempts;
the index the public lookup reads (plate, time).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("notice_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("channel_index", sa.Integer(), nullable=False),
        sa.Column("channel_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.String(length=200), nullable=True),
        sa.Column("tracking_number", sa.String(length=20), nullable=True),
        sa.Column("batch_unit_id", sa.Integer(), nullable=True),
        sa.Column("batch_date", sa.String(length=10), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_unit_id"], ["units.id"], name=op.f("fk_notice_deliveries_batch_unit_id_units")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notice_deliveries_case_id_cases")),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_deliveries_notice_id_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint("case_id", "notice_type", name="uq_notice_deliveries_case_type"),
        sa.UniqueConstraint("notice_id", name=op.f("uq_notice_deliveries_notice_id")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_notice_deliveries_tracking_number")),
    )
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_notice_deliveries_batch", ["batch_unit_id", "batch_date", "channel"], unique=False)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("receipt", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_delivery_attempts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["notice_deliveries.id"], name=op.f("fk_delivery_attempts_delivery_id_notice_deliveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_plate_key_occurred_at", ["plate_key", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_plate_key_occurred_at")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_case_id"))
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_deliveries_batch")
    op.drop_table("notice_deliveries")
