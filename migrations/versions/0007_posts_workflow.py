"""posts: review workflow, comments, imports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 14:07:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = (sa, op)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
