"""subscribers: consent, preferences, suppression, privacy

Subscriptions record the request (when, from where) apart from the consent (the
confirmation), the page the subscriber signed up on, and the topics they chose. A
suppression can be kept as the hash of an erased address alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch:
        batch.add_column(
            sa.Column("topics", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("requested_ip", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("consent_page", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("suppressions", schema=None) as batch:
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_suppressions_email_hash"), ["email_hash"])


def downgrade() -> None:
    op.execute("DELETE FROM suppressions WHERE email IS NULL")
    with op.batch_alter_table("suppressions", schema=None) as batch:
        batch.drop_constraint(op.f("uq_suppressions_email_hash"), type_="unique")
        batch.drop_column("email_hash")
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
    with op.batch_alter_table("subscriptions", schema=None) as batch:
        batch.drop_column("consent_page")
        batch.drop_column("confirmation_sent_at")
        batch.drop_column("requested_ip")
        batch.drop_column("requested_at")
        batch.drop_column("topics")
