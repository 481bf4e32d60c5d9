"""delivery statistics: aggregates, provider health, outgoing webhooks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 14:09:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CAMPAIGN_COUNTS = (
    "delivered", "deferred", "bounced_hard", "bounced_soft", "failed", "complained",
    "opened", "clicked", "opens", "machine_opens", "clicks", "machine_clicks", "unsubscribed",
    "recipients", "sent", "send_failed", "unknown", "skipped", "cancelled",
)  # fmt: skip
LIST_COUNTS = ("subscribed", "confirmed", "unsubscribed", "bounced", "complained", "erased")
PROVIDER_COUNTS = (
    "requests", "messages", "accepted", "errors", "throttled", "deferrals", "latency_ms_sum"
)  # fmt: skip


def _campaign_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["campaign_id"], ["campaigns.id"],
        name=op.f(f"fk_{table}_campaign_id_campaigns"), ondelete="CASCADE",
    )  # fmt: skip


def _counts(
    names: Sequence[str], kind: sa.types.TypeEngine[int] | None = None
) -> list[sa.Column[int]]:
    return [sa.Column(name, kind or sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "campaign_stats",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        *_counts(CAMPAIGN_COUNTS),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        _campaign_fk("campaign_stats"),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_stats")),
    )
    op.create_table(
        "campaign_hours",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _campaign_fk("campaign_hours"),
        sa.PrimaryKeyConstraint("campaign_id", "hour", "kind", name=op.f("pk_campaign_hours")),
    )
    op.create_table(
        "campaign_links",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("machine_clicks", sa.Integer(), nullable=False),
        _campaign_fk("campaign_links"),
        sa.PrimaryKeyConstraint("campaign_id", "url_hash", name=op.f("pk_campaign_links")),
    )
    op.create_table(
        "campaign_unsubscribers",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        _campaign_fk("campaign_unsubscribers"),
        sa.PrimaryKeyConstraint(
            "campaign_id", "subscriber_id", name=op.f("pk_campaign_unsubscribers")
        ),
    )
    op.create_table(
        "list_days",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counts(LIST_COUNTS),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_days_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("list_id", "day", name=op.f("pk_list_days")),
    )
    op.create_table(
        "provider_minutes",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        *_counts(PROVIDER_COUNTS, BIG),
        sa.Column("latency_ms_max", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "minute", name=op.f("pk_provider_minutes")),
    )
    op.create_index("ix_provider_minutes_minute", "provider_minutes", ["minute"])
    op.create_table(
        "stats_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", BIG, nullable=False),
        sa.Column("gap_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stats_cursors")),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "activity_id", name=op.f("uq_webhook_deliveries_endpoint_id_activity_id")
        ),
    )  # fmt: skip
    op.create_index(
        "ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries", "webhook_endpoints", "stats_cursors", "provider_minutes",
        "list_days", "campaign_unsubscribers", "campaign_links", "campaign_hours",
        "campaign_stats",
    ):  # fmt: skip
        op.drop_table(table)
