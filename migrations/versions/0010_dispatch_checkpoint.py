"""dispatch checkpoint: deliveries in flight found by their lease

``dispatched_at`` now marks the dispatched checkpoint (set just before the provider call,
no longer at the claim), so the sweeper tells rows that never left from rows that may have.
Rows already in ``sending`` keep the stamp their claim gave them: treated as dispatched,
they are resolved as before (replayed, reconciled or unknown), never sent twice. The sweeper
reads rows in ``sending`` by lease on every tick: a partial index keeps that cheap.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_FLIGHT = sa.text("status = 'sending'")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_in_flight",
        "deliveries",
        ["lease_until"],
        postgresql_where=IN_FLIGHT,
        sqlite_where=IN_FLIGHT,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_in_flight", table_name="deliveries")
