"""delivery events: provider webhooks and our own tracking, outcomes on deliveries, tracking
switches on campaigns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("track_opens", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("track_clicks", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "delivery_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("delivery_id", BIG_ID, nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("bounce", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("machine", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_delivery_events_campaign_id_campaigns"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"],
            name=op.f("fk_delivery_events_delivery_id_deliveries"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_delivery_events_source_event_id")),
    )  # fmt: skip
    op.create_index("ix_delivery_events_campaign_type", "delivery_events", ["campaign_id", "type"])
    op.create_index("ix_delivery_events_delivery_id", "delivery_events", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("delivery_events")
    with op.batch_alter_table("deliveries") as batch:
        for column in ("clicked_at", "opened_at", "outcome_at", "outcome"):
            batch.drop_column(column)
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("track_clicks")
        batch.drop_column("track_opens")
