"""campaigns: digests, recurring schedules, local-hour delivery, archive

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 14:08:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("subject_template", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_schedules")),
    )
    op.create_index(op.f("ix_digest_schedules_next_run_at"), "digest_schedules", ["next_run_at"])
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("local_time", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("local_send_at", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("schedule_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(sa.Column("released_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("digest_schedule_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("digest_run_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_digest_schedule_id_digest_schedules"),
            "digest_schedules",
            ["digest_schedule_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_campaigns_digest_schedule_id_digest_run_at"),
            ["digest_schedule_id", "digest_run_at"],
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("not_before")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_campaigns_digest_schedule_id_digest_run_at"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_campaigns_digest_schedule_id_digest_schedules"), type_="foreignkey"
        )
        for column in (
            "digest_run_at", "digest_schedule_id", "released_until", "schedule_zone",
            "local_send_at", "local_time",
        ):  # fmt: skip
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_digest_schedules_next_run_at"), table_name="digest_schedules")
    op.drop_table("digest_schedules")
