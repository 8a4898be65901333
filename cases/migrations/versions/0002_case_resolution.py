"""case_resolution (issue 6): near-duplicate merges, deadline flags, appointments, statements,
decisions, payments, transfers, citizen submissions; on cases the source, the camera-health hold
and the notification time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("booked_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appointments_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_appointments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_case_id"), "appointments", ["case_id"], unique=False)
    op.create_table(
        "citizen_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("submitter_name_enc", sa.Text(), nullable=False),
        sa.Column("submitter_contact_enc", sa.Text(), nullable=False),
        sa.Column("plate_text", sa.String(length=16), nullable=False),
        sa.Column("vehicle_class", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("complex", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verify_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refuse_reason", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_citizen_submissions_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_citizen_submissions_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_submissions")),
    )
    op.create_table(
        "deadline_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deadline_flags_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_flags")),
        sa.UniqueConstraint("case_id", "kind", name="uq_deadline_flags_case_kind"),
    )
    op.create_index("ix_deadline_flags_open", "deadline_flags", ["cleared_at", "kind"], unique=False)
    op.create_table(
        "merged_detections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_merged_detections_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merged_detections")),
        sa.UniqueConstraint("violation_id", name=op.f("uq_merged_detections_violation_id")),
    )
    op.create_index(op.f("ix_merged_detections_case_id"), "merged_detections", ["case_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_reference", sa.String(length=100), nullable=False),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("fine_vnd", sa.Integer(), nullable=False),
        sa.Column("late_interest_vnd", sa.Integer(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_payments_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider", "provider_reference", name="uq_payments_provider_ref"),
    )
    op.create_index(op.f("ix_payments_case_id"), "payments", ["case_id"], unique=False)
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("driver_name_enc", sa.Text(), nullable=False),
        sa.Column("driver_id_number_enc", sa.Text(), nullable=False),
        sa.Column("driver_address_enc", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_statements_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    op.create_index(op.f("ix_statements_case_id"), "statements", ["case_id"], unique=False)
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("transferred_by", sa.String(length=64), nullable=False),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_transfers_case_id_cases")),
        sa.ForeignKeyConstraint(["from_unit_id"], ["units.id"], name=op.f("fk_transfers_from_unit_id_units")),
        sa.ForeignKeyConstraint(["to_unit_id"], ["units.id"], name=op.f("fk_transfers_to_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_case_id"), "transfers", ["case_id"], unique=False)
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("record_number", sa.String(length=40), nullable=False),
        sa.Column("decision_number", sa.String(length=40), nullable=False),
        sa.Column("fine_vnd", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("person_fined", sa.String(length=10), nullable=False),
        sa.Column("fined_name_enc", sa.Text(), nullable=False),
        sa.Column("fined_id_number_enc", sa.Text(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pay_by", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases")),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"], name=op.f("fk_decisions_statement_id_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("case_id", name=op.f("uq_decisions_case_id")),
        sa.UniqueConstraint("decision_number", name=op.f("uq_decisions_decision_number")),
        sa.UniqueConstraint("record_number", name=op.f("uq_decisions_record_number")),
    )
    op.add_column("cases", sa.Column("source", sa.String(length=12), server_default="camera", nullable=False))
    op.add_column("cases", sa.Column("held_for_review", sa.Boolean(), server_default="0", nullable=False))
    op.add_column("cases", sa.Column("hold_reason", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in ("notified_at", "hold_reason", "held_for_review", "source"):
            batch.drop_column(column)
    op.drop_table("citizen_submissions")
    op.drop_table("transfers")
    op.drop_table("payments")
    op.drop_table("decisions")
    op.drop_table("statements")
    op.drop_table("appointments")
    op.drop_table("deadline_flags")
    op.drop_table("merged_detections")
