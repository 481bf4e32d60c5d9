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

_ = (sa, op)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
