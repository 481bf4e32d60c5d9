"""subscribers: consent, preferences, suppression, privacy

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

_ = (sa, op)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
