"""retention: indexes that let the hourly prune find old rows without scanning the tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text of publisher.tracking.models.PRUNABLE: hard bounces are kept, so left out.
PRUNABLE = sa.text("type <> 'bounced' OR bounce <> 'hard'")


def upgrade() -> None:
    _create_index("ix_activity_at", "activity", "at")
    _create_index(
        "ix_delivery_events_prunable",
        "delivery_events",
        "received_at",
        postgresql_where=PRUNABLE,
        sqlite_where=PRUNABLE,
    )
    _create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", "created_at")


def _create_index(name: str, table: str, column: str, **where: sa.TextClause) -> None:
    # These tables are the largest: on PostgreSQL the index is built without blocking the
    # writes of a running install (CONCURRENTLY, which must run outside a transaction).
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(name, table, [column], postgresql_concurrently=True, **where)
    else:
        op.create_index(name, table, [column], **where)


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_created_at", table_name="webhook_deliveries")
    op.drop_index("ix_delivery_events_prunable", table_name="delivery_events")
    op.drop_index("ix_activity_at", table_name="activity")
