"""screens_and_camera_health (issue 8): plate corrections that wait for a supervisor, and the
per-camera status row (health verdict, rates, preview JPEG, an admin's disable switch) the operator
screens and intake read, an index on the violation time (search by dates, statistics), and the
officer a supervisor assigned a case to.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plate_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_plate", sa.String(length=16), nullable=True),
        sa.Column("to_plate", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_plate_corrections_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_corrections")),
    )
    with op.batch_alter_table("plate_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plate_corrections_case_id"), ["case_id"], unique=False)

    op.create_table(
        "camera_status",
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_frame_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frames_processed", sa.Integer(), nullable=False),
        sa.Column("fps_processed", sa.Double(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("preview_jpeg", sa.LargeBinary(), nullable=True),
        sa.Column("silent_after_s", sa.Double(), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_status")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_occurred_at", ["occurred_at"], unique=False)
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_cases_assigned_to_id_users"), "users", ["assigned_to_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_assigned_to_id_users"), type_="foreignkey")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_index("ix_cases_occurred_at")
    op.drop_table("camera_status")
    with op.batch_alter_table("plate_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plate_corrections_case_id"))
    op.drop_table("plate_corrections")
