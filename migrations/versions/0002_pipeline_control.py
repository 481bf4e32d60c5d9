"""pipeline control: consecutive batch failures per campaign, shared provider rate limits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "provider_rate_limits",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("provider_rate_limits")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("consecutive_failures")
