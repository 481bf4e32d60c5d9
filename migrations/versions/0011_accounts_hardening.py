"""accounts hardening: the first admin is created once

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_ADMIN = sa.text("first_admin")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("first_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # At most one row may say it is the first admin: concurrent setups race on this index.
    op.create_index(
        "uq_users_first_admin",
        "users",
        ["first_admin"],
        unique=True,
        postgresql_where=FIRST_ADMIN,
        sqlite_where=FIRST_ADMIN,
    )


def downgrade() -> None:
    op.drop_index("uq_users_first_admin", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("first_admin")
