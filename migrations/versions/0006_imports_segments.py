"""subscribers: imports and segments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 14:06:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = (sa, op)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
