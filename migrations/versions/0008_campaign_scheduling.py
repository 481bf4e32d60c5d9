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

_ = (sa, op)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
